/** Authentication/authorisation failures. The HTTP edge maps `code` to a status; messages never echo secrets. */
export type AuthErrorCode =
  'UNAUTHENTICATED' | 'INVALID_GRANT' | 'INVALID_CLIENT' | 'FORBIDDEN' | 'RATE_LIMITED' | 'CLIENT_CERTIFICATE_MISMATCH';

export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
