export { createDataSource, ensureDatabase, runMigrations } from './data-source';
export { Queryable, rows, one, pgCode, isUuid, UUID_RE } from './sql';
export { SortDirection, KeysetPage } from './keyset';
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
  SERVICE_PRINCIPAL_SORTS,
  ServicePrincipalSort,
  ServicePrincipalListQuery,
} from './tenants.repository';
export {
  KeyConfigurationRepository,
  KeyConfigurationRow,
  ProviderName,
  KEY_CONFIGURATION_SORTS,
  KeyConfigurationSort,
  KeyConfigurationListQuery,
} from './key-configurations.repository';
export {
  WorkspaceRepository,
  WorkspaceRow,
  KeyStateName,
  KEY_STATES,
  KEK_HOLDING_STATES,
  WORKSPACE_SORTS,
  WorkspaceSort,
  WorkspaceListQuery,
  AccessReasonPolicyRow,
} from './workspaces.repository';
export { KekVersionRepository, KekVersionRow } from './kek-versions.repository';
export { DekRepository, DekRow } from './deks.repository';
export {
  OperationRepository,
  OperationRow,
  OperationKindName,
  OperationState,
  OperationHistoryRow,
  OperationHistoryQuery,
} from './operations.repository';
export {
  KeyConfigurationAccessRepository,
  AccessRecordRow,
  AccessVerdictName,
} from './key-configuration-access.repository';
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
export {
  SsoRepository,
  SsoConfigurationRow,
  SsoConfigurationInput,
  SsoRoleMapping,
  SsoUserRow,
} from './sso.repository';
export {
  SiemDestinationRepository,
  SiemDestinationRow,
  SiemDeliveryTarget,
  SiemAuditEvent,
  SiemKind,
  SiemFormat,
  SiemState,
} from './siem-destinations.repository';
export { AccessReasonRepository, WorkspaceReasonPolicy } from './access-reasons.repository';
export {
  BulkOperationRepository,
  BulkOperationRow,
  BulkItemRow,
  BulkAction,
  BulkItemOutcome,
} from './bulk-operations.repository';
export { dataSourceOptions, migrateDatabase } from './data-source';
export {
  PersistenceModule,
  PersistenceOptions,
  REPOSITORIES,
  REDIS,
  REDIS_SUBSCRIBER,
  LOCKS_DATA_SOURCE,
  DISPATCHER,
} from './persistence.module';
