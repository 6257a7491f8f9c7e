export { DomainError, ErrorCode, notFound } from './errors';
export { ProviderRegistry, PROVIDER_MODULES } from './provider-registry';
export { KekResolver, KekResolverHooks } from './kek-resolver';
export { DekService, DekPrincipal, IssuedDek, DekServiceOptions, DekCreationHooks, isSegmentId } from './dek-service';
export { DekCreationLimiter } from './dek-creation-limiter';
export {
  DestroySegment,
  DestroyedBy,
  SegmentInvalidator,
  SetServicePrincipalPermissions,
  SERVICE_PERMISSIONS,
  ServicePermission,
  DEFAULT_SERVICE_PERMISSIONS,
} from './segment-shred.use-case';
export { RequestWrapLimitRotation } from './wrap-limit-rotation.use-case';
export { Actor, Dispatcher, KekInvalidator, KeysDeps } from './context';
export { workspaceView, keyConfigurationView, tenantView, operationView } from './views';
export { CreateTenant, GetTenant, CreateServicePrincipal } from './tenant.use-cases';
export {
  CredentialsDeps,
  SessionRevoker,
  CreateInvitation,
  ListInvitations,
  RevokeInvitation,
  DescribeInvitation,
  AcceptInvitation,
  ChangePassword,
  RequestPasswordReset,
  CompletePasswordReset,
  ListAdminUsers,
  UpdateAdminUser,
  DeleteAdminUser,
} from './credentials.use-cases';
export {
  GetServicePrincipal,
  UpdateServicePrincipal,
  DeleteServicePrincipal,
  RotateServicePrincipalSecret,
  RevokeServicePrincipalSecret,
  PrincipalInvalidator,
  ServicePrincipalDeps,
  MAX_SECRET_OVERLAP_SECONDS,
} from './service-principal.use-cases';
export {
  RegisterKeyConfiguration,
  RegisterKeyConfigurationInput,
  ValidateKeyConfiguration,
  GetKeyConfiguration,
  DeleteKeyConfiguration,
  carriesExternalId,
} from './key-configuration.use-cases';
export {
  CreateWorkspace,
  GetWorkspace,
  BindWorkspace,
  BindResult,
  RequestOperation,
  RequestRevocationCheck,
  GetOperation,
} from './workspace.use-cases';
export { DestroyWorkspace, DestroyWorkspaceInput } from './workspace-destroy.use-case';
export { encodeDekBody, DEK_B64_FROM, DEK_B64_TO } from './dek-body';
export {
  ListOperations,
  OperationHistoryInput,
  OPERATION_STATES,
  HISTORY_KINDS,
  historyView,
} from './operations-history.use-case';
export {
  ACCESS_REASONS,
  AccessReason,
  DEFAULT_PRINCIPAL_REASONS,
  NO_REASON,
  REASON_SLOT_NAMES,
  isAccessReason,
  reasonSlot,
  accessTicket,
  admitReason,
  reasonMask,
} from './access-reasons';
export {
  accessReasonUseCases,
  AccessReasonUseCases,
  GetWorkspaceReasonPolicy,
  SetWorkspaceReasonPolicy,
  GetPrincipalReasons,
  SetPrincipalReasons,
  GetKeyUseByReason,
  KeyUseByReasonView,
  WorkspaceReasonPolicyView,
  PrincipalReasonsView,
} from './access-reason-policy.use-cases';
export { ListCursors, CursorScope, CursorKeys, pageOf } from './list-cursor';
export { ListAuditEvents, AuditEventsInput } from './audit-events.use-case';
export {
  ListWorkspaces,
  ListKeyConfigurations,
  ListServicePrincipals,
  PageRequest,
  WorkspaceFilters,
  KeyConfigurationFilters,
  ServicePrincipalFilters,
} from './lists.use-cases';
export {
  StartBulkAction,
  RunBulkOperation,
  BulkRunResult,
  GetBulkOperation,
  BulkRequest,
  BULK_MAX_WORKSPACES,
  bulkView,
} from './bulk-actions.use-cases';
export { ListVendorCanaries } from './listings.use-cases';
export type {
  GetWorkspaceReasonPolicyCommand,
  SetWorkspaceReasonPolicyCommand,
  GetPrincipalReasonsCommand,
  SetPrincipalReasonsCommand,
  GetKeyUseByReasonCommand,
} from './access-reason-policy.use-cases';
export type {
  CreateInvitationCommand,
  ListInvitationsCommand,
  RevokeInvitationCommand,
  DescribeInvitationCommand,
  AcceptInvitationCommand,
  ChangePasswordCommand,
  RequestPasswordResetCommand,
  CompletePasswordResetCommand,
  ListAdminUsersCommand,
  UpdateAdminUserCommand,
  DeleteAdminUserCommand,
} from './credentials.use-cases';
export type {
  RegisterKeyConfigurationCommand,
  ValidateKeyConfigurationCommand,
  GetKeyConfigurationCommand,
  DeleteKeyConfigurationCommand,
} from './key-configuration.use-cases';
export type {
  ListWorkspacesCommand,
  ListKeyConfigurationsCommand,
  ListServicePrincipalsCommand,
} from './lists.use-cases';
export type { ListOperationsCommand } from './operations-history.use-case';
export type { DestroySegmentCommand, SetServicePrincipalPermissionsCommand } from './segment-shred.use-case';
export type {
  GetServicePrincipalCommand,
  UpdateServicePrincipalCommand,
  DeleteServicePrincipalCommand,
  RotateServicePrincipalSecretCommand,
  RevokeServicePrincipalSecretCommand,
} from './service-principal.use-cases';
export type { CreateTenantCommand, GetTenantCommand, CreateServicePrincipalCommand } from './tenant.use-cases';
export type { DestroyWorkspaceCommand } from './workspace-destroy.use-case';
export type {
  CreateWorkspaceCommand,
  GetWorkspaceCommand,
  RequestRevocationCheckCommand,
  GetOperationCommand,
} from './workspace.use-cases';
export type { RequestWrapLimitRotationCommand } from './wrap-limit-rotation.use-case';
export { ProvidersModule } from './providers.module';
export { KeysModule, KEYS_DEPS, CREDENTIALS_DEPS, PRINCIPAL_DEPS, SegmentDestroyMetric } from './keys.module';
