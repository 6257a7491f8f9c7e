import { createPublicKey, KeyObject, sign } from 'node:crypto';
import { readSigningKey } from '@app/config';
import { Checkpoint, checkpointMessage, keyIdOf, keyRing, parsePublicKeys, PublicKeyRing } from '@keyhold/audit-verify';

/** A checkpoint public key as Keyhold publishes it (`GET /v1/audit/public-keys`). */
export interface PublishedKey {
  readonly keyId: string;
  readonly algorithm: 'Ed25519';
  /** SPKI, PEM. */
  readonly publicKeyPem: string;
  /** true for the key that signs new checkpoints; retired keys stay published so old checkpoints keep verifying. */
  readonly current: boolean;
}

/**
 * The two audit keys, both held outside Postgres: the HMAC key of record and head MACs, and the Ed25519 key that
 * signs checkpoints. Built once per process from the configuration.
 */
export class AuditKeys {
  readonly macKey: Buffer;
  readonly keyId: string;
  readonly ring: PublicKeyRing;
  readonly published: readonly PublishedKey[];
  private readonly signingKey: KeyObject;

  constructor(config: { hmacKey: string; signingKey: string; previousPublicKeys: string }) {
    this.macKey = Buffer.from(config.hmacKey, 'base64');
    this.signingKey = readSigningKey(config.signingKey);
    if (this.signingKey.asymmetricKeyType !== 'ed25519') throw new Error('the audit signing key must be Ed25519');
    const current = createPublicKey(this.signingKey);
    this.keyId = keyIdOf(current);
    const previous = config.previousPublicKeys.trim() ? parsePublicKeys(config.previousPublicKeys) : [];
    this.ring = keyRing([current, ...previous]);
    this.published = [...this.ring].map(([keyId, k]) => ({
      keyId,
      algorithm: 'Ed25519' as const,
      publicKeyPem: k.export({ type: 'spki', format: 'pem' }).toString(),
      current: keyId === this.keyId,
    }));
  }

  sign(c: Pick<Checkpoint, 'tenantId' | 'seq' | 'headHash' | 'at'>): Checkpoint {
    return { ...c, keyId: this.keyId, signature: sign(null, checkpointMessage(c), this.signingKey).toString('base64') };
  }
}
