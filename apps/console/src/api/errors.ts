import { SSO_SUMMARIES } from './sso-messages';

/**
 * An API failure in words. The API answers `{"error": {"code", "message"}}`; the console never shows that JSON,
 * only `summary` (what happened, in plain language, keyed by code) and the server's own sentence as `detail`.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
  }

  get summary(): string {
    return SUMMARIES[this.code] ?? fallbackSummary(this.status);
  }
}

const SUMMARIES: Record<string, string> = {
  UNAUTHENTICATED: 'Your session is not valid any more. Sign in again.',
  INVALID_GRANT: 'The tenant id, email or password is not right.',
  INVALID_CLIENT: 'The client id or secret is not right.',
  FORBIDDEN: 'Your role does not allow this action. Key admins can change settings; auditors can only read.',
  RATE_LIMITED: 'Too many attempts in a short time. Wait a minute, then try again.',
  VALIDATION_FAILED: 'Some of what you entered is not valid.',
  INVALID_IDENTIFIER: 'The key or identity you entered is not in the expected format.',
  EXTERNAL_ID_NOT_ACCEPTED: 'Keyhold sets the ExternalId itself; it cannot be supplied.',
  PROVIDER_NOT_CONFIGURED: 'This cloud is not enabled on this Keyhold installation.',
  NOT_FOUND: 'That item does not exist, or it belongs to another tenant.',
  TENANT_NOT_FOUND: 'That tenant does not exist.',
  WORKSPACE_NOT_FOUND: 'That workspace does not exist.',
  KEY_CONFIGURATION_NOT_FOUND: 'That key configuration does not exist.',
  OPERATION_NOT_FOUND: 'That operation does not exist.',
  NAME_TAKEN: 'That name is already used. Choose another one.',
  KEY_CONFIGURATION_IN_USE:
    'This key configuration is still bound to at least one workspace. Re-bind those workspaces to another configuration first, then delete it.',
  KEY_CONFIGURATION_INVALID:
    'This key configuration did not pass validation. Fix the problems it lists and validate it again before binding.',
  WORKSPACE_BUSY: 'Another operation is already running on this workspace. Wait for it to finish.',
  WORKSPACE_UNBOUND: 'This workspace is not bound to a key configuration yet.',
  WORKSPACE_SHREDDED:
    'This workspace is shredded: its keys cannot be used until access is restored and it is reinstated.',
  WORKSPACE_DESTROYED: 'This workspace was destroyed: its keys were deleted for good and it cannot be used again.',
  DESTROYED_WORKSPACE_NOT_BINDABLE:
    'This workspace was destroyed; a destroyed workspace can never be bound again. Create a new workspace instead.',
  CONFIRMATION_MISMATCH: 'The name you typed does not match the workspace name exactly. Nothing was destroyed.',
  OPERATION_NOT_ALLOWED: 'That operation is not possible in the workspace’s current state.',
  KMS_UNAVAILABLE: 'The cloud key service could not be reached. This is usually temporary; try again shortly.',
  KMS_REFUSED: 'The cloud key service refused the request. Check that Keyhold still has access to the key.',
  KEY_INTEGRITY_FAILURE: 'A key integrity check failed. Contact support; nothing was changed.',
  PASSWORD_TOO_WEAK:
    'Choose a stronger password: at least 12 characters, not a common one, and not containing your email address.',
  INVALID_CURRENT_PASSWORD: 'Your current password is not right.',
  INVITATION_NOT_FOUND:
    'This invitation link cannot be used: it was already used, revoked, has expired, or was copied incompletely. Ask a key admin for a new one.',
  RESET_LINK_NOT_FOUND:
    'This reset link cannot be used: it was already used, has expired, or was copied incompletely. Ask for a new one.',
  INVITATION_PENDING: 'An invitation to this address is already waiting. Revoke it first to send a new one.',
  ACCOUNT_EXISTS: 'A user with this email address already exists in this tenant.',
  ADMIN_USER_NOT_FOUND: 'That user does not exist any more.',
  LAST_KEY_ADMIN:
    'This is the last enabled key admin: the tenant must keep at least one. Invite or enable another key admin first.',
  MAIL_UNAVAILABLE: 'The invitation email could not be sent, so nothing was created. Try again shortly.',
  NETWORK: 'The Keyhold API could not be reached. Check your connection and try again.',
  ...SSO_SUMMARIES,
  MFA_CHALLENGE_INVALID: 'This sign-in step expired or was used up. Sign in again with your password.',
  MFA_CODE_INVALID: 'That code is not right, or it was already used. Wait for the next code and try again.',
  PASSKEY_REQUIRED:
    'Your tenant requires key admins to sign in with a passkey. Codes from an app and recovery codes are not accepted.',
  FRESH_AUTH_REQUIRED: 'For your security, sign out and sign in again before changing your sign-in factors.',
  MFA_METHOD_NOT_AVAILABLE: 'That sign-in method is not available for your account right now.',
  MFA_FACTOR_NOT_FOUND: 'That factor does not exist any more.',
  WEBAUTHN_VERIFICATION_FAILED: 'The passkey was not accepted. Try again, or use another passkey.',
  PASSKEY_ALREADY_REGISTERED: 'This passkey is already registered.',
  MFA_NOT_ENROLLED: 'Add an authenticator app or a passkey first; recovery codes stand in for one.',
  MFA_RESET_SELF: 'You cannot reset your own factors here; manage them on your Security page.',
  WEBAUTHN_CANCELLED: 'The passkey prompt was cancelled or timed out. Nothing was changed.',
};

function fallbackSummary(status: number): string {
  if (status >= 500) return 'Keyhold had a problem handling this request. Try again; if it persists, contact support.';
  if (status === 404) return SUMMARIES.NOT_FOUND;
  if (status === 409) return 'The request conflicts with the current state. Refresh and try again.';
  return 'The request was not accepted.';
}

/**
 * The API's `{"error": {"code", "message"}}` of a failed answer (already read), or its status line: a proxy or a
 * crash may answer with HTML or nothing.
 */
export function apiErrorOf(res: Response, body: unknown): ApiError {
  let code = `HTTP_${res.status}`;
  let detail = res.statusText || `HTTP ${res.status}`;
  const error =
    body && typeof body === 'object' ? (body as { error?: { code?: unknown; message?: unknown } }).error : undefined;
  if (error && typeof error === 'object') {
    if (typeof error.code === 'string') code = error.code;
    if (typeof error.message === 'string') detail = error.message;
  }
  return new ApiError(res.status, code, detail);
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
}
