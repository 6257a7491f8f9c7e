export { AzureProviderSettings, EmulatorHost, loadAzureSettings, parseEmulatorHosts } from './settings';
export { parseAzureKeyUrl, parseAzureKeyConfigInput, ParsedKeyUrl, KEY_VAULT_SUFFIXES } from './key-url';
export { classifyAzureError } from './classify';
export { seal as sealKekWithContext, open as openKekWithContext, SEALED_LEN } from './context-seal';
export { createAzureAgent, agentPolicy, isInternalAddress, guardedLookup, blockedAddressError } from './transport';
export { AzureKeyVaultProvider, createAzureProvider } from './provider';
export { probeVaultChallenge, parseChallenge, VaultChallenge } from './challenge';
export { azureProviderModule } from './module';
export { OWNERSHIP_TAG, ownershipOf, ownershipTagCommand, Ownership } from './ownership';
