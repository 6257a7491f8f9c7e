import { createHash, createPublicKey, KeyObject, verify } from 'node:crypto';
import { Checkpoint, checkpointMessage } from './format';

/** A key id names an Ed25519 public key by its SPKI bytes, so it cannot drift from the key it names. */
export function keyIdOf(publicKey: KeyObject): string {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`;
}

/** Reads an Ed25519 public key from PEM (SPKI) or base64 DER (SPKI); throws on anything else. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith('-----BEGIN')
    ? createPublicKey(trimmed)
    : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`expected an Ed25519 public key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** Every PEM public key in a file of one or more blocks (a customer may keep the current and retired keys). */
export function parsePublicKeys(text: string): KeyObject[] {
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g);
  return blocks ? blocks.map(parsePublicKey) : [parsePublicKey(text)];
}

export type PublicKeyRing = ReadonlyMap<string, KeyObject>;

export function keyRing(keys: Iterable<KeyObject>): PublicKeyRing {
  return new Map([...keys].map((k) => [keyIdOf(k), k]));
}

/** True when the signature is Ed25519 by the named key over exactly this checkpoint's fields. */
export function checkpointSignatureValid(c: Checkpoint, ring: PublicKeyRing): boolean {
  const key = ring.get(c.keyId);
  if (!key || typeof c.signature !== 'string') return false;
  try {
    return verify(null, checkpointMessage(c), key, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}
