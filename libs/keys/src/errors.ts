/**
 * Domain error codes: libs throw DomainError with one of these; the HTTP edge maps each code to a
 * status and the `{"error": {"code", "message"}}` body. Messages are for humans and never carry key material.
 */
export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  InvalidIdentifier = 'INVALID_IDENTIFIER',
  ExternalIdNotAccepted = 'EXTERNAL_ID_NOT_ACCEPTED',
  ProviderNotConfigured = 'PROVIDER_NOT_CONFIGURED',
  NotFound = 'NOT_FOUND',
  TenantNotFound = 'TENANT_NOT_FOUND',
  WorkspaceNotFound = 'WORKSPACE_NOT_FOUND',
  KeyConfigurationNotFound = 'KEY_CONFIGURATION_NOT_FOUND',
  OperationNotFound = 'OPERATION_NOT_FOUND',
  ServicePrincipalNotFound = 'SERVICE_PRINCIPAL_NOT_FOUND',
  SecretNotFound = 'SECRET_NOT_FOUND',
  NameTaken = 'NAME_TAKEN',
  KeyConfigurationInUse = 'KEY_CONFIGURATION_IN_USE',
  KeyConfigurationInvalid = 'KEY_CONFIGURATION_INVALID',
  WorkspaceBusy = 'WORKSPACE_BUSY',
  WorkspaceUnbound = 'WORKSPACE_UNBOUND',
  WorkspaceShredded = 'WORKSPACE_SHREDDED',
  /** Deleted on purpose (DELETE workspace): irreversible, unlike a shred. */
  WorkspaceDestroyed = 'WORKSPACE_DESTROYED',
  DestroyedWorkspaceNotBindable = 'DESTROYED_WORKSPACE_NOT_BINDABLE',
  ConfirmationMismatch = 'CONFIRMATION_MISMATCH',
  OperationNotAllowed = 'OPERATION_NOT_ALLOWED',
  KmsUnavailable = 'KMS_UNAVAILABLE',
  KmsRefused = 'KMS_REFUSED',
  KeyIntegrity = 'KEY_INTEGRITY_FAILURE',
  SegmentDestroyed = 'SEGMENT_DESTROYED',
  DekQuotaExceeded = 'DEK_QUOTA_EXCEEDED',
  DekCreateRateLimited = 'DEK_CREATE_RATE_LIMITED',
  KekWrapLimit = 'KEK_WRAP_LIMIT',
  AuditLogTampered = 'AUDIT_LOG_TAMPERED',
  PasswordNotAccepted = 'PASSWORD_NOT_ACCEPTED',
  PasswordTooWeak = 'PASSWORD_TOO_WEAK',
  InvalidCurrentPassword = 'INVALID_CURRENT_PASSWORD',
  InvitationNotFound = 'INVITATION_NOT_FOUND',
  InvitationPending = 'INVITATION_PENDING',
  ResetLinkNotFound = 'RESET_LINK_NOT_FOUND',
  AdminUserNotFound = 'ADMIN_USER_NOT_FOUND',
  AccountExists = 'ACCOUNT_EXISTS',
  LastKeyAdmin = 'LAST_KEY_ADMIN',
  MailUnavailable = 'MAIL_UNAVAILABLE',
  /** Keyhold-Access-Reason is not one of the closed set (docs/ARCHITECTURE.md, key access justifications). */
  InvalidAccessReason = 'INVALID_ACCESS_REASON',
  InvalidAccessTicket = 'INVALID_ACCESS_TICKET',
  /** The principal may not give this reason, or the workspace's policy refuses it. */
  ReasonDenied = 'REASON_DENIED',
  /** The workspace's policy requires a reason and the request gave none. */
  ReasonRequired = 'REASON_REQUIRED',
  /** A list cursor that was altered, or replayed with another tenant, list, sort or filters. */
  InvalidCursor = 'INVALID_CURSOR',
  /** A bulk action over more workspaces than one operation may carry. */
  BulkSelectionTooLarge = 'BULK_SELECTION_TOO_LARGE',
  BulkOperationNotFound = 'BULK_OPERATION_NOT_FOUND',
}

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Seconds a client should wait before retrying (429s and 503s). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new DomainError(ErrorCode.NotFound, `${what} not found`);
