import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Destination secrets at rest (webhook signing secrets, Splunk HEC tokens): AES-256-GCM under a key derived from
 * the audit MAC key, which is configuration, never in Postgres; bound to (tenant, destination) as associated
 * data, so a sealed value copied onto another row does not open. Whoever reads the database alone cannot sign
 * as Keyhold to a customer's SIEM.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(rootKeyBase64: string) {
    this.key = Buffer.from(
      hkdfSync(
        'sha256',
        Buffer.from(rootKeyBase64, 'base64'),
        Buffer.alloc(0),
        'keyhold siem destination secret v1',
        32,
      ),
    );
  }

  seal(tenantId: string, destinationId: string, plaintext: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(`${tenantId}/${destinationId}`));
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]);
    return `v1.${iv.toString('base64url')}.${ct.toString('base64url')}`;
  }

  open(tenantId: string, destinationId: string, sealed: string): string {
    const [v, iv, body] = sealed.split('.');
    if (v !== 'v1' || !iv || !body) throw new Error('sealed destination secret has an unknown format');
    const data = Buffer.from(body, 'base64url');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(`${tenantId}/${destinationId}`));
    d.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]).toString('utf8');
  }
}

/** A webhook signing secret: 32 random bytes, prefixed so it is recognisable in a secret scanner. */
export function newSigningSecret(): string {
  return `khsiem_${randomBytes(32).toString('base64url')}`;
}
