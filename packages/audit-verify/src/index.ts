/** The audit record format and its verification: one implementation for Keyhold's server and the offline verifier. */
export {
  GENESIS_HASH,
  AuditEntry,
  Checkpoint,
  canonicalJson,
  entryHash,
  entryMac,
  headMac,
  checkpointMessage,
} from './format';
export { keyIdOf, parsePublicKey, parsePublicKeys, keyRing, PublicKeyRing, checkpointSignatureValid } from './keys';
export { ChainedRecord, FailureReason, LogVerdict, LogVerifier, VerifyOptions, verifyLog } from './verify';
export { MalformedInput, parseRecord, parseExport, parseCheckpoints } from './parse';
