import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';

/** AES-256 key length in bytes. */
export const KEY_BYTES = 32;
/** Key-check value length in bytes (first 128 bits of the HMAC). */
export const KCV_BYTES = 16;
const KCV_LABEL = Buffer.from('keyhold/kcv/v1', 'utf8');

/** A fresh 256-bit key from the CSPRNG, in an unpooled buffer the caller zeroes. */
export function generateKey(): Buffer {
  const k = Buffer.allocUnsafeSlow(KEY_BYTES);
  randomFillSync(k);
  return k;
}

/** KEKs and DEKs are both AES-256 keys; the name at the call site says which. */
export const generateKek = generateKey;
export const generateDek = generateKey;

/**
 * Key-check value: HMAC-SHA256(KEK, "keyhold/kcv/v1") truncated to 128 bits. AES-GCM is not key-committing, so
 * a wrong KEK could in principle "successfully" decrypt a crafted ciphertext; checking the KCV after every KEK
 * unwrap makes "this is the KEK we stored" an explicit, verified fact. One-way: reveals nothing about the KEK.
 */
export function kcv(kek: Buffer): Buffer {
  assertKey(kek, 'KEK');
  return createHmac('sha256', kek).update(KCV_LABEL).digest().subarray(0, KCV_BYTES);
}

/** Constant-time comparison of a KEK's check value with the stored one. */
export function kcvMatches(kek: Buffer, expected: Buffer): boolean {
  const actual = kcv(kek);
  return expected.length === KCV_BYTES && timingSafeEqual(actual, expected);
}

export function assertKey(key: Buffer, what: string): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new Error(`${what} must be ${KEY_BYTES} bytes`);
}
