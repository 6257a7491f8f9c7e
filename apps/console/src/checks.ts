import type { Provider } from './api/types';

/** Validation check names (from the API) in words, and what to do when one fails. */
const LABELS: Record<string, string> = {
  identifier: 'Key identifier is well formed',
  assume_role: 'Keyhold can assume your role with the ExternalId',
  key_access: 'Keyhold can read the key',
  key_ownership: 'Key is tagged for this Keyhold tenant',
  key_state: 'Key is enabled',
  key_usage: 'Key can wrap keys',
  round_trip: 'Wrap and unwrap round trip',
  context_binding: 'Wrapped keys are bound to their context',
};

export function checkLabel(name: string): string {
  if (LABELS[name]) return LABELS[name];
  if (/external_?id/i.test(name)) return 'Role refuses Keyhold without the right ExternalId';
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const GRANT: Record<Provider, string> = {
  aws: 'Add the key policy statement shown above to the key policy (and make sure the role’s own policies do not deny kms:Encrypt/Decrypt/DescribeKey).',
  azure: 'Run the role assignment shown above so Keyhold’s application can get, wrap and unwrap with this key.',
  gcp: 'Add the IAM bindings shown above for Keyhold’s service account on this key.',
};

/** A concrete next step for a failed check. The server's message says what is wrong; this says where to fix it. */
export function checkFix(name: string, provider: Provider): string {
  if (name === 'assume_role')
    return 'Paste the trust policy shown above into the role’s trust relationships, then validate again.';
  if (/external_?id/i.test(name))
    return 'Your trust policy must require the ExternalId: use the policy shown above unchanged (it has the sts:ExternalId condition).';
  if (name === 'key_access' || name === 'round_trip') return `${GRANT[provider]} Then validate again.`;
  if (name === 'key_ownership')
    return 'Run the ownership tag command shown above (it tags the key with your tenant’s ExternalId) as someone who manages the key, then validate again.';
  if (name === 'key_state')
    return 'Enable the key (or cancel its scheduled deletion) in your cloud console, then validate again.';
  if (name === 'key_usage')
    return 'Choose a key made for symmetric encryption (AWS, GCP) or an RSA key allowed to wrap and unwrap (Azure).';
  if (name === 'context_binding') return 'This key does not enforce context binding. Use a key of a supported type.';
  return 'Correct the setting named above, then validate again.';
}
