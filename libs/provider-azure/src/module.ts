import type { ProviderModule } from '@app/provider-port';
import { parseAzureKeyConfigInput } from './key-url';
import { createAzureProvider } from './provider';
import { loadAzureSettings } from './settings';

/** Azure Key Vault as the control plane uses it: the vendor's multi-tenant app in the customer's Entra tenant. */
export const azureProviderModule: ProviderModule<'azure'> = {
  kind: 'azure',
  create(env, observer) {
    const settings = loadAzureSettings(env);
    const provider = createAzureProvider(settings, observer);
    return {
      kind: 'azure',
      provider,
      parse(input) {
        const i = isObject(input) ? input : {};
        return parseAzureKeyConfigInput({ keyId: i.keyId, tenantId: i.tenantId }, settings);
      },
      identity: () => ({ clientId: settings.vendorClientId, appName: 'Keyhold' }),
      hints: (config) => ({ accessGrant: provider.accessGrantHint(config) }),
      bindTenant: (config) => config,
    };
  },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
