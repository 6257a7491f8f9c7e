export { KEY_BYTES, KCV_BYTES, generateKey, generateKek, generateDek, kcv, kcvMatches, assertKey } from './kek';
export {
  DEK_WRAP_ALG,
  NONCE_BYTES,
  TAG_BYTES,
  WRAPPED_DEK_BYTES,
  DekAad,
  dekAad,
  wrapDek,
  unwrapDek,
  DekUnwrapError,
} from './dek-wrap';
export { newExternalId, newClientSecret, newClientId } from './random';
export { keyCrypto } from './key-crypto';
export { KeySlab, SlabKey } from './key-slab';
export { SecretSlab } from './secret-slab';
