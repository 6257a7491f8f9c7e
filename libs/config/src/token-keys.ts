import { createHash } from 'node:crypto';

/**
 * Keyhold's own token signing keys. The first key of the set signs; every key verifies. Rotation without an outage
 * is three configuration rollouts (docs/OPERATIONS.md): add the new key second (every replica can verify it), move it
 * first (it signs), remove the old key once the longest-lived token it signed has expired.
 */
export interface TokenKey {
  /** Key id, carried in the token header (`kid`) so a verifier picks the key without trying them all. */
  readonly kid: string;
  /** HMAC-SHA256 secret (at least 32 bytes). */
  readonly secret: string;
}

export const TOKEN_KEY_ID_RE = /^[A-Za-z0-9_-]{1,32}$/;
export const TOKEN_KEY_MIN_BYTES = 32;

/** Parses `KEYHOLD_TOKEN_KEYS`: `kid=secret` entries separated by commas, the signing key first. */
export function parseTokenKeys(text: string): TokenKey[] {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('must name at least one key as kid=secret');
  const keys = entries.map((e) => {
    const at = e.indexOf('=');
    if (at <= 0) throw new Error('each entry must be kid=secret');
    const kid = e.slice(0, at);
    const secret = e.slice(at + 1);
    if (!TOKEN_KEY_ID_RE.test(kid))
      throw new Error(`key id "${kid.slice(0, 40)}" must be 1-32 letters, digits, _ or -`);
    if (Buffer.byteLength(secret) < TOKEN_KEY_MIN_BYTES)
      throw new Error(`the secret of key "${kid}" must be at least ${TOKEN_KEY_MIN_BYTES} bytes`);
    return { kid, secret };
  });
  const kids = new Set(keys.map((k) => k.kid));
  if (kids.size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

/**
 * The key id of a key configured the single-secret way (`KEYHOLD_TOKEN_SECRET`): derived from the secret, so every
 * replica configured with the same secret agrees on it. 48 bits of a SHA-256 reveal nothing usable about a secret of
 * at least 32 bytes.
 */
export function legacyTokenKeyId(secret: string): string {
  return `s-${createHash('sha256').update(`keyhold/token-key-id/${secret}`).digest('base64url').slice(0, 8)}`;
}
