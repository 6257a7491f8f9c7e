export { KeyholdClient } from './client';
export type { KeyholdClientOptions, EncryptInput, DecryptOptions, StreamInput } from './client';
export {
  KeyholdError,
  WorkspaceShreddedError,
  WorkspaceDestroyedError,
  SegmentDestroyedError,
  AuthenticationError,
  KeyholdUnavailableError,
  EnvelopeError,
} from './errors';
export { DekCache, DEFAULT_DEK_CACHE } from './dek-cache';
export type { DekCacheOptions } from './dek-cache';
export type { KeyEvent, EventStreamOptions } from './events';
export type { RetryPolicy } from './retry';
export { Alg, decodeHeader, encodeHeader, seal, sealParts, open, readHeader, FORMAT_VERSION, MAGIC } from './envelope';
export type { EnvelopeHeader, EnvelopeExpectation, EnvelopeParts, DekMaterial } from './envelope';
export { EncryptTransform, DecryptTransform, DEFAULT_FRAME_BYTES } from './stream';
export { ACCESS_REASONS } from './justification';
export type { AccessReason, AccessJustification } from './justification';
