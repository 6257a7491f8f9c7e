import type { KeyConfiguration, Provider } from '../api/types';

export const PROVIDER_NAMES: Record<Provider, string> = {
  aws: 'AWS KMS',
  azure: 'Azure Key Vault',
  gcp: 'Google Cloud KMS',
};

/** A configuration's section holds what the provider module parsed: a field shown as text when it is one. */
export const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The customer key a configuration points at, as one line. */
export function keyIdentifier(kc: KeyConfiguration): string {
  if (kc.provider === 'aws') return text(kc.aws?.keyArn);
  if (kc.provider === 'azure') return text(kc.azure?.keyId);
  return text(kc.gcp?.keyName);
}
