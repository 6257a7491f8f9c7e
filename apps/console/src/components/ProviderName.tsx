import type { KeyConfiguration, Provider } from '../api/types';

export const PROVIDER_NAMES: Record<Provider, string> = { aws: 'AWS KMS', azure: 'Azure Key Vault', gcp: 'Google Cloud KMS' };

/** The customer key a configuration points at, as one line. */
export function keyIdentifier(kc: KeyConfiguration): string {
  if (kc.provider === 'aws') return String(kc.aws?.keyArn ?? '');
  if (kc.provider === 'azure') return String(kc.azure?.keyId ?? '');
  return String(kc.gcp?.keyName ?? '');
}
