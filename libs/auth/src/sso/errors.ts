/**
 * Single sign-on failures. Every code is stable (the console and clients branch on it); the HTTP edge maps it to
 * a status. Messages say what an admin can act on and never echo a token, code or secret.
 */
export type SsoErrorCode =
  | 'SSO_NOT_CONFIGURED'
  | 'SSO_UNAVAILABLE'
  | 'SSO_CONFIG_INVALID'
  | 'SSO_ISSUER_REJECTED'
  | 'SSO_ISSUER_UNREACHABLE'
  | 'SSO_BREAK_GLASS_INVALID'
  | 'SSO_STATE_INVALID'
  | 'SSO_IDP_ERROR'
  | 'SSO_CODE_REJECTED'
  | 'SSO_TOKEN_REJECTED'
  | 'SSO_EMAIL_MISSING'
  | 'SSO_EMAIL_DOMAIN_NOT_ALLOWED'
  | 'SSO_NO_ROLE_MAPPING'
  | 'SSO_ACCOUNT_DISABLED'
  | 'SSO_IDENTITY_MISMATCH'
  | 'SSO_LAST_KEY_ADMIN'
  | 'SSO_HANDOFF_INVALID'
  | 'SSO_REQUIRED';

export const SSO_ERROR_STATUS: Record<SsoErrorCode, number> = {
  SSO_NOT_CONFIGURED: 404,
  SSO_UNAVAILABLE: 503,
  SSO_CONFIG_INVALID: 400,
  SSO_ISSUER_REJECTED: 400,
  SSO_ISSUER_UNREACHABLE: 422,
  SSO_BREAK_GLASS_INVALID: 400,
  SSO_STATE_INVALID: 400,
  SSO_IDP_ERROR: 401,
  SSO_CODE_REJECTED: 401,
  SSO_TOKEN_REJECTED: 401,
  SSO_EMAIL_MISSING: 403,
  SSO_EMAIL_DOMAIN_NOT_ALLOWED: 403,
  SSO_NO_ROLE_MAPPING: 403,
  SSO_ACCOUNT_DISABLED: 403,
  SSO_IDENTITY_MISMATCH: 403,
  SSO_LAST_KEY_ADMIN: 409,
  SSO_HANDOFF_INVALID: 401,
  SSO_REQUIRED: 403,
};

export class SsoError extends Error {
  override readonly name = 'SsoError';
  constructor(
    readonly code: SsoErrorCode,
    message: string,
  ) {
    super(message);
  }
}
