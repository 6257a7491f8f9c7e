import type { CanaryTarget } from '@app/jobs';
import type { ProviderRegistry } from '@app/keys';

/**
 * The vendor-owned canary keys from the environment (docs/ARCHITECTURE.md "Positive control"). Each is parsed and
 * bound by the cloud's own binding exactly like a customer's configuration, so the canary goes through the same
 * identity path (AWS: the vendor credentials assume a role with an ExternalId, then call KMS). A partial or
 * malformed setting stops the worker with a message naming the variables.
 */
export function canaryTargets(env: Record<string, string | undefined>, registry: ProviderRegistry): CanaryTarget[] {
  const out: CanaryTarget[] = [];
  const aws = ['KEYHOLD_AWS_CANARY_KEY_ARN', 'KEYHOLD_AWS_CANARY_ROLE_ARN', 'KEYHOLD_AWS_CANARY_EXTERNAL_ID'] as const;
  const [keyArn, roleArn, externalId] = aws.map((n) => env[n]?.trim() || undefined);
  if (keyArn || roleArn || externalId) {
    if (!keyArn || !roleArn || !externalId)
      throw new Error(`${aws.join(', ')} must be set together (the vendor-owned AWS canary)`);
    if (!registry.has('aws')) throw new Error(`${aws[0]} is set but the AWS provider is not configured`);
    const b = registry.binding('aws');
    const tenant = { id: 'vendor-canary', externalId };
    try {
      out.push({ provider: 'aws', config: b.bindTenant(b.parse({ keyArn, roleArn }, tenant), tenant), target: keyArn });
    } catch (err) {
      throw new Error(`${aws.join(' / ')}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  // GCP: the canary's service account is derived from a fixed pseudo-tenant exactly as each tenant's is, and is
  // impersonated by the vendor identity like theirs; only the key is configured.
  const gcpKey = env.KEYHOLD_GCP_CANARY_KEY?.trim();
  if (gcpKey)
    out.push(
      bound('gcp', 'KEYHOLD_GCP_CANARY_KEY', registry, (sa) => ({ keyName: gcpKey, serviceAccount: sa }), gcpKey),
    );
  // Azure: a key in a vault of the vendor's own Entra tenant, reached with the vendor app's credential.
  const azureKey = env.KEYHOLD_AZURE_CANARY_KEY_ID?.trim();
  const azureTenant = env.KEYHOLD_AZURE_CANARY_TENANT_ID?.trim();
  if (azureKey || azureTenant) {
    if (!azureKey || !azureTenant)
      throw new Error(
        'KEYHOLD_AZURE_CANARY_KEY_ID and KEYHOLD_AZURE_CANARY_TENANT_ID must be set together (the vendor-owned Azure canary)',
      );
    out.push(
      bound(
        'azure',
        'KEYHOLD_AZURE_CANARY_KEY_ID',
        registry,
        () => ({ keyId: azureKey, tenantId: azureTenant }),
        azureKey,
      ),
    );
  }
  return out;
}

/**
 * The canary stands for a tenant of its own. Its ExternalId is fixed and public: it only has to match the ownership
 * tag the vendor puts on its own Azure canary key (`keyhold-external-id=keyhold-vendor-canary`).
 */
export const CANARY_TENANT = { id: 'vendor-canary', externalId: 'keyhold-vendor-canary' };

function bound(
  provider: 'gcp' | 'azure',
  variable: string,
  registry: ProviderRegistry,
  input: (serviceAccount: string | undefined) => Record<string, unknown>,
  target: string,
): CanaryTarget {
  if (!registry.has(provider)) throw new Error(`${variable} is set but the ${provider} provider is not configured`);
  const b = registry.binding(provider);
  const identity = b.identity(CANARY_TENANT) as { serviceAccount?: unknown };
  const sa = typeof identity.serviceAccount === 'string' ? identity.serviceAccount : undefined;
  try {
    return {
      provider,
      config: b.bindTenant(b.parse(input(sa), CANARY_TENANT), CANARY_TENANT),
      target: sa ? `${target} as ${sa}` : target,
    };
  } catch (err) {
    throw new Error(`${variable}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
