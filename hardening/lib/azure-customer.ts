import { ClientSecretCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { agentPolicy, createAzureAgent, parseEmulatorHosts } from '@app/provider-azure';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';

/**
 * The customer's own Key Vault client (their admin app, full rights on the vault) against the Azure emulator, set
 * up from the same settings Keyhold's binding uses (CA, emulator host mapping, authority). What a customer does in
 * their vault (create, tag, disable a key) goes through the real @azure/keyvault-keys SDK with it.
 */
export function azureCustomerKeys(
  providerEnv: Readonly<Record<string, string | undefined>>,
  vaultUrl: string,
): { keys: KeyClient; close(): void } {
  const d = AZURE_EMULATOR_DEFAULTS;
  const agent = createAzureAgent({
    tlsCaPem: providerEnv.KEYHOLD_AZURE_CA_PEM,
    allowedEmulatorHosts: parseEmulatorHosts(providerEnv.KEYHOLD_AZURE_EMULATOR_HOSTS ?? ''),
  });
  const opts = {
    additionalPolicies: [{ policy: agentPolicy(agent), position: 'perCall' as const }],
    retryOptions: { maxRetries: 0, retryDelayInMs: 50, maxRetryDelayInMs: 200 },
  };
  const credential = new ClientSecretCredential(
    d.customerTenantId,
    d.customerAdminClientId,
    d.customerAdminClientSecret,
    {
      ...opts,
      authorityHost: providerEnv.KEYHOLD_AZURE_AUTHORITY_HOST,
      disableInstanceDiscovery: true,
    },
  );
  return { keys: new KeyClient(vaultUrl, credential, opts), close: () => agent.destroy() };
}
