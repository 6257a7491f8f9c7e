import type { ProviderModule } from '@app/provider-port';
import { parseAzureKeyConfigInput } from './key-url';
import { OWNERSHIP_TAG } from './ownership';
import { createAzureProvider } from './provider';
import { loadAzureSettings } from './settings';

/**
 * Azure Key Vault as the control plane uses it: the vendor's multi-tenant app in the customer's Entra tenant, used
 * on a key only while the key's owner tags it with this Keyhold tenant's ExternalId (ownership.ts).
 */
export const azureProviderModule: ProviderModule<'azure'> = {
  kind: 'azure',
  create(env, observer) {
    const settings = loadAzureSettings(env);
    const provider = createAzureProvider(settings, observer);
    return {
      kind: 'azure',
      provider,
      parse(input, tenant) {
        const i = isObject(input) ? input : {};
        return parseAzureKeyConfigInput({ keyId: i.keyId, tenantId: i.tenantId }, settings, tenant.externalId);
      },
      identity: (tenant) => ({
        clientId: settings.vendorClientId,
        appName: 'Keyhold',
        externalId: tenant.externalId,
        ownershipTag: OWNERSHIP_TAG,
      }),
      hints: (config) => ({
        accessGrant: provider.accessGrantHint(config),
        ownershipTag: provider.ownershipTagHint(config),
      }),
      // The ExternalId is the tenant's, never read from stored or client data (configurations stored before the
      // ownership tag existed have none, and get this tenant's here).
      bindTenant: (config, tenant) => ({ ...config, externalId: tenant.externalId }),
    };
  },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
