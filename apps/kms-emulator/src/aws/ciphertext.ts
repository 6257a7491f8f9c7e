import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The emulator's ciphertext blob. Like real KMS, the blob names the key and the backing key (key material)
 * that produced it, so Decrypt needs no KeyId and rotation keeps old blobs decryptable:
 *   0x01 | len | keyId (utf8) | len | keyMaterialId (utf8) | iv (12) | tag (16) | ciphertext
 * AES-256-GCM with AAD = header || canonical EncryptionContext, so a changed context or header fails.
 */

const VERSION = 0x01;
const IV = 12;
const TAG = 16;

export interface BlobHeader {
  keyId: string;
  keyMaterialId: string;
}

/** Sorted-entry JSON of the encryption context: the same context in any key order gives the same AAD. */
export function canonicalEncryptionContext(ctx: Record<string, string> | undefined): Buffer {
  const entries = Object.entries(ctx ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function header(h: BlobHeader): Buffer {
  const k = Buffer.from(h.keyId, 'utf8');
  const m = Buffer.from(h.keyMaterialId, 'utf8');
  if (k.length > 255 || m.length > 255) throw new Error('blob header field too long');
  return Buffer.concat([Buffer.from([VERSION, k.length]), k, Buffer.from([m.length]), m]);
}

export function sealBlob(
  h: BlobHeader,
  material: Buffer,
  plaintext: Buffer,
  ctx: Record<string, string> | undefined,
): Buffer {
  const head = header(h);
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([head, canonicalEncryptionContext(ctx)]));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, iv, cipher.getAuthTag(), ct]);
}

/** Reads the header without decrypting; null when the blob is not one of ours. */
export function readBlobHeader(blob: Buffer): (BlobHeader & { headerLength: number }) | null {
  if (blob.length < 3 || blob[0] !== VERSION) return null;
  const kl = blob[1];
  if (blob.length < 2 + kl + 1) return null;
  const keyId = blob.subarray(2, 2 + kl).toString('utf8');
  const ml = blob[2 + kl];
  const headerLength = 3 + kl + ml;
  if (blob.length < headerLength + IV + TAG) return null;
  const keyMaterialId = blob.subarray(3 + kl, headerLength).toString('utf8');
  return { keyId, keyMaterialId, headerLength };
}

/** Returns the plaintext, or null when authentication fails (wrong context, tampered blob). */
export function openBlob(
  blob: Buffer,
  headerLength: number,
  material: Buffer,
  ctx: Record<string, string> | undefined,
): Buffer | null {
  const head = blob.subarray(0, headerLength);
  const iv = blob.subarray(headerLength, headerLength + IV);
  const tag = blob.subarray(headerLength + IV, headerLength + IV + TAG);
  const ct = blob.subarray(headerLength + IV + TAG);
  try {
    const d = createDecipheriv('aes-256-gcm', material, iv);
    d.setAAD(Buffer.concat([head, canonicalEncryptionContext(ctx)]));
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ct), d.final()]);
  } catch {
    return null;
  }
}
