import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The platform operator's bearer tokens. Each is named (the name is what the audit log records as the actor) and may
 * expire; the configuration holds only a SHA-256 of each token, so whoever reads the deployment's environment or
 * secret store learns no usable operator token from it. Several tokens may be valid at once: an operator (or a CI job)
 * gets a token of their own, and a new token is issued before the old one expires or is removed.
 */
export interface OperatorTokenEntry {
  readonly name: string;
  /** SHA-256 of the token (32 bytes). */
  readonly sha256: Buffer;
  /** Null: never expires (the single-token `KEYHOLD_OPERATOR_TOKEN` form). */
  readonly expiresAt: Date | null;
}

export const OPERATOR_TOKEN_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
export const OPERATOR_TOKEN_MIN_LENGTH = 32;

export function hashOperatorToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The entry of a plaintext token (the single `KEYHOLD_OPERATOR_TOKEN`, named `default`, never expiring). */
export function plainOperatorToken(token: string, name = 'default'): OperatorTokenEntry {
  return { name, sha256: hashOperatorToken(token), expiresAt: null };
}

/**
 * Parses `KEYHOLD_OPERATOR_TOKENS`: comma-separated `name=sha256:<64 hex>` entries, each optionally followed by
 * `@<ISO 8601 expiry>`, e.g. `alice=sha256:9f86…@2027-03-01T00:00:00Z`.
 */
export function parseOperatorTokens(text: string): OperatorTokenEntry[] {
  const out = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      const m = /^([^=]+)=sha256:([0-9a-fA-F]{64})(?:@(.+))?$/.exec(e);
      if (!m) throw new Error('each entry must be name=sha256:<64 hex digits>[@<ISO 8601 expiry>]');
      const [, name, hex, expiry] = m;
      if (!OPERATOR_TOKEN_NAME_RE.test(name))
        throw new Error(`token name "${name.slice(0, 40)}" must be 1-64 letters, digits, _ . or -`);
      let expiresAt: Date | null = null;
      if (expiry !== undefined) {
        expiresAt = new Date(expiry);
        if (!/^\d{4}-\d{2}-\d{2}/.test(expiry) || Number.isNaN(expiresAt.getTime()))
          throw new Error(`the expiry of token "${name}" must be an ISO 8601 date`);
      }
      return { name, sha256: Buffer.from(hex, 'hex'), expiresAt };
    });
  if (out.length === 0) throw new Error('must name at least one token');
  if (new Set(out.map((t) => t.name)).size !== out.length) throw new Error('token names must be unique');
  return out;
}

/**
 * The name of the operator token presented, or null. Every configured entry is compared (constant time, on hashes of
 * equal length), so neither which entry matched nor how many exist shows in the timing; an expired entry never matches.
 */
export function matchOperatorToken(
  given: string | undefined,
  entries: readonly OperatorTokenEntry[],
  now = Date.now(),
): string | null {
  if (!given || given.length > 4096) return null;
  const h = hashOperatorToken(given);
  let found: string | null = null;
  for (const e of entries) {
    const equal = timingSafeEqual(h, e.sha256);
    if (equal && (e.expiresAt === null || e.expiresAt.getTime() > now)) found = e.name;
  }
  return found;
}

/** The configuration line for a freshly minted token (what an operator adds to KEYHOLD_OPERATOR_TOKENS). */
export function operatorTokenEntryLine(name: string, token: string, expiresAt: Date | null): string {
  return `${name}=sha256:${hashOperatorToken(token).toString('hex')}${expiresAt ? `@${expiresAt.toISOString()}` : ''}`;
}
