import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for TOTP secrets at rest: a database dump or backup alone does not yield the seeds that generate an
 * admin's codes. The row's identity (tenant, user, factor) is the associated data, so a ciphertext copied onto
 * another user's row does not decrypt. Layout: 12-byte nonce ‖ ciphertext ‖ 16-byte tag.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('the MFA secret key must be at least 32 bytes');
    this.key = key.subarray(0, 32);
  }

  seal(plaintext: string, aad: string): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return Buffer.concat([iv, body, c.getAuthTag()]);
  }

  open(sealed: Buffer, aad: string): string {
    const d = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]).toString('utf8');
  }
}
