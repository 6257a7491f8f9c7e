export { createDataSource, ensureDatabase, runMigrations } from './data-source';
export { Queryable, rows, one, pgCode, isUuid, UUID_RE } from './sql';
export { HeldLock } from './advisory-lock';
export {
  TenantRepository,
  TenantRow,
  AdminUserRepository,
  AdminUserRow,
  AdminRole,
  ServicePrincipalRepository,
  ServicePrincipalRow,
  ServicePrincipalSummary,
  ServicePrincipalDetail,
  ServicePrincipalSecretHash,
  ServicePrincipalCredentialState,
  ServicePrincipalChange,
} from './tenants.repository';
export { KeyConfigurationRepository, KeyConfigurationRow, ProviderName } from './key-configurations.repository';
export { WorkspaceRepository, WorkspaceRow, KeyStateName, KEY_STATES, KEK_HOLDING_STATES } from './workspaces.repository';
export { KekVersionRepository, KekVersionRow } from './kek-versions.repository';
export { DekRepository, DekRow } from './deks.repository';
export { OperationRepository, OperationRow, OperationKindName, OperationState, OperationHistoryRow, OperationHistoryQuery } from './operations.repository';
export { KeyConfigurationAccessRepository, AccessRecordRow, AccessVerdictName } from './key-configuration-access.repository';
export { Repositories, createRepositories } from './repositories';
export { SegmentRepository, SegmentDestroyResult } from './segments.repository';
export {
  AdminAccountRepository,
  AdminUserSummary,
  OneTimeLinkRepository,
  OneTimeLinkRow,
  OneTimeLinkKind,
  LastKeyAdminError,
} from './admin-accounts.repository';
export { VendorCanaryRepository, VendorCanaryStatus } from './vendor-canary.repository';
export { SsoRepository, SsoConfigurationRow, SsoConfigurationInput, SsoRoleMapping, SsoUserRow } from './sso.repository';
export {
  SiemDestinationRepository,
  SiemDestinationRow,
  SiemDeliveryTarget,
  SiemAuditEvent,
  SiemKind,
  SiemFormat,
  SiemState,
} from './siem-destinations.repository';
export { dataSourceOptions, migrateDatabase } from './data-source';
export { PersistenceModule, PersistenceOptions, REPOSITORIES, REDIS, REDIS_SUBSCRIBER, LOCKS_DATA_SOURCE, DISPATCHER } from './persistence.module';
