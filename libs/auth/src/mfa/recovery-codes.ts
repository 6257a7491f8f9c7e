import { createHash, randomBytes } from 'node:crypto';

/** How many codes a user gets at a time; regenerating replaces all of them. */
export const RECOVERY_CODE_COUNT = 10;

// Crockford base32: no I, L, O, U, so a code read off paper is not mistyped as another.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * One-time recovery codes: 80 random bits each, shown once as `XXXX-XXXX-XXXX-XXXX`. Only SHA-256 of the
 * normalised code is stored: 2^80 candidates make a leaked hash useless, so a slow hash buys nothing here (as for
 * the one-time link tokens).
 */
export function newRecoveryCodes(n = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: n }, () => {
    const bytes = randomBytes(10);
    let bits = 0n;
    for (const b of bytes) bits = (bits << 8n) | BigInt(b);
    let s = '';
    for (let i = 0; i < 16; i++) {
      s = ALPHABET[Number(bits & 31n)] + s;
      bits >>= 5n;
    }
    return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}-${s.slice(12)}`;
  });
}

/** Upper-case, separators and spaces dropped, the letters people confuse folded; null when it cannot be a code. */
export function normalizeRecoveryCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{16}$/.test(s) ? s : null;
}

export function hashRecoveryCode(normalized: string): Buffer {
  return createHash('sha256').update(`keyhold-recovery-code\n${normalized}`, 'utf8').digest();
}
