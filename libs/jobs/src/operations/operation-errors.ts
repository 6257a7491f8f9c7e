/**
 * A permanent operation failure: retrying cannot help (wrong state, revoked key, corrupted KEK). The processor
 * marks the operation failed with `message` (shown to the tenant admin, so: no key material, no provider
 * response bodies) and ends the job with BullMQ's UnrecoverableError.
 */
export type OperationFailureCode =
  | 'OPERATION_NOT_FOUND'
  | 'WORKSPACE_NOT_FOUND'
  | 'WORKSPACE_STATE_CONFLICT'
  | 'KEY_CONFIGURATION_NOT_FOUND'
  | 'KEY_CONFIGURATION_INVALID'
  | 'KEK_CHECK_FAILED'
  | 'KEY_ACCESS_DENIED'
  | 'UNWRAP_FAILED'
  | 'UNKNOWN_OPERATION_KIND';

export class OperationFailure extends Error {
  override readonly name = 'OperationFailure';
  constructor(
    readonly code: OperationFailureCode,
    message: string,
  ) {
    super(message);
  }
}

/** Another worker holds the workspace: try again shortly, without counting an attempt. */
export class WorkspaceBusy extends Error {
  override readonly name = 'WorkspaceBusy';
}
