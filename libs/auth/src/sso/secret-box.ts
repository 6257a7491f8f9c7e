import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The IdP client secret at rest: AES-256-GCM under a key that lives outside Postgres (KEYHOLD_SSO_SECRET_KEY), with
 * the tenant id in the additional data, so a database reader learns nothing and a sealed secret copied into another
 * tenant's row does not open. Layout: version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
 */
const VERSION = 1;
const aad = (tenantId: string) => Buffer.from(`keyhold/sso-client-secret/v1|${tenantId}`, 'utf8');

export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the SSO secret key must be 32 bytes');
    this.key = Buffer.from(key);
  }

  seal(tenantId: string, secret: string): Buffer {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(aad(tenantId));
    const body = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, body, c.getAuthTag()]);
  }

  /** Throws when the bytes were not sealed for this tenant under this key. */
  open(tenantId: string, sealed: Buffer): string {
    if (sealed.length < 1 + 12 + 16 || sealed[0] !== VERSION)
      throw new Error('sealed SSO secret has an unknown layout');
    const d = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(1, 13));
    d.setAAD(aad(tenantId));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([d.update(sealed.subarray(13, sealed.length - 16)), d.final()]).toString('utf8');
  }
}
