import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The emulator's Cloud KMS ciphertext: [format 0x01][version number, 4 bytes BE][IV 12][AES-256-GCM output][tag 16].
 * Like real Cloud KMS, the ciphertext names the version that produced it, so Decrypt takes only the CryptoKey
 * name. The GCM AAD is the CryptoKey name, a NUL, then the caller's AAD: a ciphertext moved to another key, or
 * presented with different AAD, fails authentication exactly like a tampered one.
 */
const FORMAT = 0x01;
const HEADER = 1 + 4;
const IV = 12;
const TAG = 16;

export function sealGcp(material: Buffer, keyName: string, version: number, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(gcmAad(keyName, aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(HEADER);
  header[0] = FORMAT;
  header.writeUInt32BE(version, 1);
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]);
}

/** The version a ciphertext claims to come from, or null when it is not one of ours. */
export function ciphertextVersion(ciphertext: Buffer): number | null {
  if (ciphertext.length < HEADER + IV + TAG || ciphertext[0] !== FORMAT) return null;
  const v = ciphertext.readUInt32BE(1);
  return v >= 1 ? v : null;
}

/** Plaintext, or null when authentication fails (wrong key, wrong AAD, tampering). */
export function openGcp(material: Buffer, keyName: string, ciphertext: Buffer, aad: Buffer): Buffer | null {
  const iv = ciphertext.subarray(HEADER, HEADER + IV);
  const body = ciphertext.subarray(HEADER + IV, ciphertext.length - TAG);
  const tag = ciphertext.subarray(ciphertext.length - TAG);
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(gcmAad(keyName, aad));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
}

function gcmAad(keyName: string, aad: Buffer): Buffer {
  return Buffer.concat([Buffer.from(keyName, 'utf8'), Buffer.from([0]), aad]);
}
