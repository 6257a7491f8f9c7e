import type { ProviderModule } from '@app/provider-port';
import { parseAwsKeyConfigInput } from './identifiers';
import { createAwsProvider } from './provider';
import { loadAwsSettings } from './settings';

/** AWS KMS as the control plane uses it: an IAM role assumed with the tenant's ExternalId. */
export const awsProviderModule: ProviderModule<'aws'> = {
  kind: 'aws',
  create(env, observer) {
    const settings = loadAwsSettings(env);
    const provider = createAwsProvider(settings, observer);
    return {
      kind: 'aws',
      provider,
      parse(input, tenant) {
        const i = isObject(input) ? input : {};
        return parseAwsKeyConfigInput({ keyArn: i.keyArn, roleArn: i.roleArn }, tenant.externalId, settings);
      },
      identity: (tenant) => ({
        externalId: tenant.externalId,
        trustedPrincipalArn: settings.vendorPrincipalArn,
        trustPolicy: provider.trustPolicy(tenant.externalId),
      }),
      hints: (config) => ({ keyPolicyStatement: provider.keyPolicyStatement(config.roleArn) }),
      // The ExternalId is the tenant's, never read from stored or client data.
      bindTenant: (config, tenant) => ({ ...config, externalId: tenant.externalId }),
    };
  },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
