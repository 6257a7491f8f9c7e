import type { ProviderModule } from '@app/provider-port';
import { parseGcpKeyConfigInput } from './parse';
import { createGcpProvider } from './provider';
import { loadGcpSettings, serviceAccountForTenant } from './settings';

/** Cloud KMS as the control plane uses it: a service account per Keyhold tenant, impersonated by the vendor. */
export const gcpProviderModule: ProviderModule<'gcp'> = {
  kind: 'gcp',
  create(env, observer) {
    const settings = loadGcpSettings(env);
    const provider = createGcpProvider(settings, observer);
    return {
      kind: 'gcp',
      provider,
      parse(input, tenant) {
        const i = isObject(input) ? input : {};
        return parseGcpKeyConfigInput(
          { keyName: i.keyName, serviceAccount: i.serviceAccount },
          serviceAccountForTenant(settings, tenant.id),
        );
      },
      identity: (tenant) => ({ serviceAccount: serviceAccountForTenant(settings, tenant.id) }),
      hints: (config) => ({ iamBinding: provider.iamBindingHint(config) }),
      // The service account is the tenant's by derivation, never taken from stored or client data (confused deputy).
      bindTenant: (config, tenant) => ({ ...config, serviceAccount: serviceAccountForTenant(settings, tenant.id) }),
    };
  },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
