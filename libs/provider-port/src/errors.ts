/**
 * The closed set of provider failure classes. Every failure of a cloud KMS call maps to exactly one of them.
 * Only REVOCATION_CANDIDATES may ever feed the shred decision (docs/ARCHITECTURE.md, "Provider error classes").
 */
export const ERROR_CLASSES = [
  // revocation candidates: the customer (or their cloud) says no, definitively
  'access_denied',
  'key_disabled',
  'key_pending_deletion',
  'key_destroyed',
  'key_not_found',
  // transient: retry with backoff, never shred
  'throttled',
  'unavailable',
  // our fault or undecidable: never revocation
  'invalid_ciphertext',
  'invalid_key_usage',
  'auth_misconfigured',
  'credentials_expired',
  'ambiguous',
  // the key does not carry the owner's proof that this Keyhold tenant may use it (Azure ownership tag):
  // Keyhold refuses to use the key, but never shreds on it (see docs/ARCHITECTURE.md, "Azure key ownership")
  'ownership_unproven',
] as const;

export type ErrorClass = (typeof ERROR_CLASSES)[number];

export const REVOCATION_CANDIDATES: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'access_denied',
  'key_disabled',
  'key_pending_deletion',
  'key_destroyed',
  'key_not_found',
]);

export const TRANSIENT_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['throttled', 'unavailable']);

export function isRevocationCandidate(c: ErrorClass): boolean {
  return REVOCATION_CANDIDATES.has(c);
}

export function isTransient(c: ErrorClass): boolean {
  return TRANSIENT_CLASSES.has(c);
}

/**
 * A provider failure, already classified. `providerCode` is the cloud's own error name/code (e.g.
 * `DisabledException`, `ForbiddenByRbac`, `7`), never a message body: messages can echo request data.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly errorClass: ErrorClass,
    readonly provider: string,
    readonly operation: string,
    readonly providerCode: string,
    message: string,
  ) {
    super(message);
  }

  get revocationCandidate(): boolean {
    return isRevocationCandidate(this.errorClass);
  }

  get transient(): boolean {
    return isTransient(this.errorClass);
  }
}

/** A tenant-supplied identifier that does not parse. Maps to HTTP 400 at the edge. */
export class InvalidIdentifierError extends Error {
  override readonly name = 'InvalidIdentifierError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The customer's grant does not cover re-encryption (e.g. AWS kms:ReEncryptFrom/To, added after they onboarded),
 * although it may cover unwrap and wrap. Deliberately not a ProviderError: it is never a revocation signal. The
 * caller falls back to unwrap + wrap, whose own failures are classified as usual.
 */
export class RewrapNotPermittedError extends Error {
  override readonly name = 'RewrapNotPermittedError';
  constructor(
    readonly provider: string,
    readonly providerCode: string,
  ) {
    super(`${provider} rewrap is not permitted for this key (${providerCode}); unwrap + wrap instead`);
  }
}
