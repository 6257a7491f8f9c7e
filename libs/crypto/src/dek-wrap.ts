import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { assertKey, KEY_BYTES } from './kek';

/**
 * DEK wrapping under a workspace KEK: AES-256-GCM, random 96-bit nonce, 128-bit tag.
 * Layout of a wrapped DEK: nonce (12) ‖ ciphertext (32) ‖ tag (16) = 60 bytes.
 *
 * AAD binds the DEK to where it belongs: algorithm, tenant, workspace, segment and KEK version. A wrapped DEK
 * copied to another segment, workspace or version fails authentication instead of yielding a key.
 * Random nonces allow at most 2^32 wraps per KEK (NIST SP 800-38D §8.3): callers count wraps per KEK version.
 */
export const DEK_WRAP_ALG = 'A256GCM-DEK-v1';
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const WRAPPED_DEK_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES;

export interface DekAad {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly segmentId: string;
  readonly kekVersion: number;
}

/** Canonical AAD: a JSON array in fixed order, so no two distinct tuples can serialise alike. */
export function dekAad(aad: DekAad): Buffer {
  if (!Number.isSafeInteger(aad.kekVersion) || aad.kekVersion < 1)
    throw new Error('kekVersion must be a positive integer');
  return Buffer.from(
    JSON.stringify([DEK_WRAP_ALG, aad.tenantId, aad.workspaceId, aad.segmentId, aad.kekVersion]),
    'utf8',
  );
}

export function wrapDek(kek: Buffer, dek: Buffer, aad: DekAad): Buffer {
  assertKey(kek, 'KEK');
  assertKey(dek, 'DEK');
  const out = Buffer.allocUnsafe(WRAPPED_DEK_BYTES);
  const nonce = out.subarray(0, NONCE_BYTES);
  randomFillSync(nonce);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(dekAad(aad));
  const n1 = cipher.update(dek).copy(out, NONCE_BYTES);
  cipher.final();
  if (n1 !== KEY_BYTES) throw new Error('unexpected AES-GCM output length');
  cipher.getAuthTag().copy(out, NONCE_BYTES + KEY_BYTES);
  return out;
}

export class DekUnwrapError extends Error {
  override readonly name = 'DekUnwrapError';
}

/** Unwraps into an unpooled buffer the caller zeroes. Throws DekUnwrapError on any mismatch (never partial output). */
export function unwrapDek(kek: Buffer, wrapped: Buffer, aad: DekAad): Buffer {
  assertKey(kek, 'KEK');
  if (!Buffer.isBuffer(wrapped) || wrapped.length !== WRAPPED_DEK_BYTES)
    throw new DekUnwrapError('wrapped DEK has the wrong length');
  const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(dekAad(aad));
  decipher.setAuthTag(wrapped.subarray(NONCE_BYTES + KEY_BYTES));
  const dek = Buffer.allocUnsafeSlow(KEY_BYTES);
  try {
    decipher.update(wrapped.subarray(NONCE_BYTES, NONCE_BYTES + KEY_BYTES)).copy(dek);
    decipher.final();
  } catch {
    dek.fill(0);
    throw new DekUnwrapError(
      'wrapped DEK failed authentication (wrong KEK, or moved to another segment, workspace or version)',
    );
  }
  return dek;
}
