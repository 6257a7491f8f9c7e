/**
 * Second-factor failures, each with a stable code the HTTP edge maps to a status (apps/api error mapping). Messages
 * are for people and never carry a code, secret or challenge.
 */
export const MFA_ERROR_STATUS = {
  /** The sign-in challenge is unknown, used, expired or was abandoned after too many wrong codes. */
  MFA_CHALLENGE_INVALID: 401,
  /** Wrong, reused (same 30-second step) or malformed TOTP or recovery code. */
  MFA_CODE_INVALID: 401,
  /** The tenant requires key admins to use a passkey: TOTP and recovery codes are refused for them. */
  PASSKEY_REQUIRED: 403,
  /** Enrolling or removing a factor needs a session signed in within the last few minutes. */
  FRESH_AUTH_REQUIRED: 403,
  /** The method asked for is not one this sign-in may use (not enrolled, or enrolment is what is required). */
  MFA_METHOD_NOT_AVAILABLE: 409,
  MFA_FACTOR_NOT_FOUND: 404,
  /** The browser's WebAuthn answer did not verify (challenge, origin, RP ID, signature, counter, user verification). */
  WEBAUTHN_VERIFICATION_FAILED: 400,
  /** This authenticator key pair is already registered. */
  PASSKEY_ALREADY_REGISTERED: 409,
  /** Recovery codes exist only for users with at least one factor. */
  MFA_NOT_ENROLLED: 409,
  /** A key admin resets other admins' MFA; their own factors they manage themselves. */
  MFA_RESET_SELF: 409,
  ADMIN_USER_NOT_FOUND: 404,
  MFA_VALIDATION_FAILED: 400,
} as const;

export type MfaErrorCode = keyof typeof MFA_ERROR_STATUS;

export class MfaError extends Error {
  override readonly name = 'MfaError';
  constructor(
    readonly code: MfaErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return MFA_ERROR_STATUS[this.code];
  }
}
