export {
  AuditLog,
  AuditLogOptions,
  AuditRecord,
  AuditTx,
  StoredAuditEvent,
  AuditVerification,
  AuditIntegrityError,
} from './audit-log';
export { AuditKeys, PublishedKey } from './keys';
export { AuditFilter, AuditListQuery, auditListStatement, AUDIT_WORKSPACE_SQL } from './audit-query';
export { AuditSealer } from './sealer';
export {
  GENESIS_HASH,
  AuditEntry,
  Checkpoint,
  canonicalJson,
  entryHash,
  verifyLog,
  LogVerdict,
} from '@keyhold/audit-verify';
export { AuditBuffer, auditProviderCalls, DekIssuanceAggregator, IssuanceTally } from './subscribers';
export { KeyUseReport, KeyUseBucket, KeyUsePoint, KeyUseQuery } from './key-use';
export { AuditModule } from './audit.module';
