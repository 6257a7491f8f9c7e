/**
 * Every failure the client reports is a `KeyholdError` with the server's stable code when there is one, so a
 * caller can branch on the class (or `code`) and never has to parse messages.
 */
export class KeyholdError extends Error {
  override readonly name: string = 'KeyholdError';
  constructor(
    message: string,
    /** The server's `error.code` (or the client's own, e.g. `ENVELOPE_INVALID`). */
    readonly code: string,
    /** HTTP status when the error came from the server. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * 410: the workspace's keys are gone (the customer revoked and Keyhold shredded). Everything the client cached
 * for the workspace has been purged before this is thrown. Subclasses name a more specific cause.
 */
export class WorkspaceShreddedError extends KeyholdError {
  override readonly name: string = 'WorkspaceShreddedError';
  constructor(
    readonly workspaceId: string,
    message = 'the workspace keys were shredded after the customer revoked access',
    code = 'WORKSPACE_SHREDDED',
  ) {
    super(message, code, 410);
  }
}

/** 410 `WORKSPACE_DESTROYED`: the tenant destroyed the workspace; its data cannot be decrypted any more. */
export class WorkspaceDestroyedError extends WorkspaceShreddedError {
  override readonly name: string = 'WorkspaceDestroyedError';
  constructor(workspaceId: string, message = 'the workspace was destroyed') {
    super(workspaceId, message, 'WORKSPACE_DESTROYED');
  }
}

/** 410 `SEGMENT_DESTROYED`: this segment's DEK was destroyed; the rest of the workspace is unaffected. */
export class SegmentDestroyedError extends WorkspaceShreddedError {
  override readonly name: string = 'SegmentDestroyedError';
  constructor(
    workspaceId: string,
    readonly segmentId: string | undefined,
    message = 'the segment was destroyed',
  ) {
    super(workspaceId, message, 'SEGMENT_DESTROYED');
  }
}

/** 401 that one fresh token did not cure, or the token endpoint refused the credentials. */
export class AuthenticationError extends KeyholdError {
  override readonly name: string = 'AuthenticationError';
}

/** 503/429/network failures that outlasted the retry deadline. */
export class KeyholdUnavailableError extends KeyholdError {
  override readonly name: string = 'KeyholdUnavailableError';
}

/** A ciphertext that is malformed, tampered with, truncated, or bound to other ids than the caller expects. */
export class EnvelopeError extends KeyholdError {
  override readonly name: string = 'EnvelopeError';
  constructor(message: string, code = 'ENVELOPE_INVALID') {
    super(message, code);
  }
}
