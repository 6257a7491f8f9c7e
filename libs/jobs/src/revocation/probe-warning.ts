import type { ErrorClass, ProviderKind } from '@app/provider-port';

/**
 * A probe that proved access but met a refusal worth an admin's attention. `describe_denied`: the customer's key
 * service refused to describe the key while the unwrap the DEK path needs works — the customer granted Keyhold its
 * wrap/unwrap permissions only (e.g. every AWS permission conditioned on the encryption context, which DescribeKey
 * does not carry). Keyhold keeps serving; what it loses is the key-state and key-version read, so KEKs are not
 * rewrapped automatically after a rotation of the customer key (they still unwrap: the clouds keep old key material).
 */
export interface ProbeWarning {
  readonly code: 'describe_denied';
  readonly errorClass: ErrorClass;
  readonly providerCode: string;
}

const DESCRIBE_PERMISSION: Record<ProviderKind, string> = {
  aws: 'kms:DescribeKey and kms:ListKeyRotations (these requests carry no encryption context: an Allow conditioned on one never matches them)',
  azure: 'the get key permission (or the RBAC data action Microsoft.KeyVault/vaults/keys/read)',
  gcp: 'cloudkms.cryptoKeys.get (roles/cloudkms.viewer on the key)',
};

/** Words for the admin; built from the class and the cloud's error name only, never from a provider message. */
export function probeWarningMessage(provider: ProviderKind, w: ProbeWarning): string {
  return (
    `Keyhold can still wrap and unwrap with this key, so your workspaces keep working, but your key service refused to describe the key (${w.errorClass}, ${w.providerCode}). ` +
    `Without it Keyhold cannot read the key's state and current version, so it does not rewrap KEKs automatically after you rotate the key. ` +
    `Grant Keyhold ${DESCRIBE_PERMISSION[provider]} to restore that. This is not a revocation and never shreds anything; to revoke, remove Keyhold's unwrap permission or disable the key.`
  );
}
