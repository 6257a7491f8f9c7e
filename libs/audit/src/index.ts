export { AuditLog, AuditRecord, StoredAuditEvent, AuditVerification } from './audit-log';
export { GENESIS_HASH, AuditEntry, canonicalJson, entryHash, verifyChain, ChainVerdict } from './chain';
export { AuditBuffer, auditProviderCalls, DekIssuanceAggregator, IssuanceTally } from './subscribers';
