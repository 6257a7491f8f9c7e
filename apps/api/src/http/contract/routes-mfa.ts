import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { path, routes } from './kit';
import {
  Empty,
  MfaChallengeToken,
  MfaCode,
  MfaConfirmTotpAtSignIn,
  MfaEnrolTotp,
  MfaPasskeyAssertion,
  MfaPasskeyRegistrationAtSignIn,
  MfaPolicy,
  MfaRecoveryCode,
  RegisterPasskey,
  StartTotp,
  TotpCode,
} from './requests';
import { FactorAdded, MfaReset, MfaSignedIn, MfaStatus, RecoveryCodes, TotpSetup, WebAuthnOptions } from './responses';

const TEXT_mfa = {
  400: 'malformed or invalid request (VALIDATION_FAILED, WEBAUTHN_VERIFICATION_FAILED)',
  401: 'missing, invalid or revoked token; for the sign-in step: MFA_CHALLENGE_INVALID (used, expired, abandoned) or MFA_CODE_INVALID (wrong or reused code)',
  403: 'role not allowed; PASSKEY_REQUIRED (the tenant requires key admins to use a passkey); FRESH_AUTH_REQUIRED (sign in again first)',
  404: 'not found (MFA_FACTOR_NOT_FOUND, ADMIN_USER_NOT_FOUND; also another tenant or a malformed id)',
  409: 'conflict (MFA_METHOD_NOT_AVAILABLE, PASSKEY_ALREADY_REGISTERED, MFA_NOT_ENROLLED, MFA_RESET_SELF)',
  415: 'body must be application/json',
  429: 'too many requests from this address, or too many wrong codes for this user (RATE_LIMITED, Retry-After)',
};

export function mfaRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_mfa);
  route('post', '/v1/auth/mfa/totp', {
    id: 'signInWithTotp',
    summary: 'Second step of sign-in: a TOTP code (each 30-second code works once)',
    access: 'public',
    body: MfaCode,
    ok: [200, MfaSignedIn],
    errors: [400, 401, 403, 409, 415, 429],
  });
  route('post', '/v1/auth/mfa/recovery-code', {
    id: 'signInWithRecoveryCode',
    summary: 'Second step of sign-in: a one-time recovery code (used up)',
    access: 'public',
    body: MfaRecoveryCode,
    ok: [200, MfaSignedIn],
    errors: [400, 401, 403, 409, 415, 429],
  });
  route('post', '/v1/auth/mfa/passkey/options', {
    id: 'passkeySignInOptions',
    summary: 'WebAuthn request options (single-use challenge) for the passkey step',
    access: 'public',
    body: MfaChallengeToken,
    ok: [200, WebAuthnOptions],
    errors: [400, 401, 403, 409, 415, 429],
  });
  route('post', '/v1/auth/mfa/passkey', {
    id: 'signInWithPasskey',
    summary: 'Second step of sign-in: a passkey assertion',
    access: 'public',
    body: MfaPasskeyAssertion,
    ok: [200, MfaSignedIn],
    errors: [400, 401, 403, 409, 415, 429],
  });
  route('post', '/v1/auth/mfa/enrol/totp', {
    id: 'signInEnrolTotp',
    summary: 'Sign-in under a policy requiring MFA: start a TOTP set-up',
    access: 'public',
    body: MfaEnrolTotp,
    ok: [200, TotpSetup],
    errors: [400, 401, 403, 409, 415, 429],
  });
  route('post', '/v1/auth/mfa/enrol/totp/confirm', {
    id: 'signInConfirmTotp',
    summary:
      'Sign-in under a policy requiring MFA: confirm the TOTP set-up with a code; signs in and returns recovery codes',
    access: 'public',
    body: MfaConfirmTotpAtSignIn,
    ok: [200, MfaSignedIn],
    errors: [400, 401, 403, 409, 415, 429],
  });
  route('post', '/v1/auth/mfa/enrol/passkey/options', {
    id: 'signInPasskeyRegistrationOptions',
    summary: 'Sign-in under a policy requiring MFA: WebAuthn creation options',
    access: 'public',
    body: MfaChallengeToken,
    ok: [200, WebAuthnOptions],
    errors: [400, 401, 403, 409, 415, 429],
  });
  route('post', '/v1/auth/mfa/enrol/passkey', {
    id: 'signInRegisterPasskey',
    summary: 'Sign-in under a policy requiring MFA: register a passkey; signs in and returns recovery codes',
    access: 'public',
    body: MfaPasskeyRegistrationAtSignIn,
    ok: [200, MfaSignedIn],
    errors: [400, 401, 403, 409, 415, 429],
  });
  route('get', '/v1/tenants/{tenantId}/me/mfa', {
    id: 'getOwnMfa',
    summary: 'Your factors (never a secret), recovery codes left, the tenant policy',
    access: 'readers',
    params: path('tenantId'),
    ok: [200, MfaStatus],
    errors: [401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/me/mfa/totp', {
    id: 'startTotp',
    summary: 'Start a TOTP set-up (recent sign-in required): the secret and otpauth URI, shown once',
    access: 'readers',
    params: path('tenantId'),
    body: StartTotp,
    ok: [201, TotpSetup],
    errors: [400, 401, 403, 404, 415, 429],
  });
  route('post', '/v1/tenants/{tenantId}/me/mfa/totp/{factorId}/confirm', {
    id: 'confirmTotp',
    summary: 'Confirm a TOTP set-up with a current code; your first factor comes with recovery codes',
    access: 'readers',
    params: path('tenantId', 'factorId'),
    body: TotpCode,
    ok: [200, FactorAdded],
    errors: [400, 401, 403, 404, 415, 429],
  });
  route('post', '/v1/tenants/{tenantId}/me/mfa/passkeys/options', {
    id: 'passkeyRegistrationOptions',
    summary: 'WebAuthn creation options (single-use challenge; recent sign-in required)',
    access: 'readers',
    params: path('tenantId'),
    body: Empty,
    ok: [200, WebAuthnOptions],
    errors: [400, 401, 403, 404, 415, 429],
  });
  route('post', '/v1/tenants/{tenantId}/me/mfa/passkeys', {
    id: 'registerPasskey',
    summary: 'Register a passkey; your first factor comes with recovery codes',
    access: 'readers',
    params: path('tenantId'),
    body: RegisterPasskey,
    ok: [201, FactorAdded],
    errors: [400, 401, 403, 404, 409, 415, 429],
  });
  route('delete', '/v1/tenants/{tenantId}/me/mfa/factors/{factorId}', {
    id: 'removeFactor',
    summary: 'Remove one of your factors (recent sign-in required; the last one takes the recovery codes with it)',
    access: 'readers',
    params: path('tenantId', 'factorId'),
    ok: [204, null],
    errors: [401, 403, 404, 429],
  });
  route('post', '/v1/tenants/{tenantId}/me/mfa/recovery-codes', {
    id: 'regenerateRecoveryCodes',
    summary: 'New recovery codes (the old ones stop working; recent sign-in required)',
    access: 'readers',
    params: path('tenantId'),
    body: Empty,
    ok: [201, RecoveryCodes],
    errors: [400, 401, 403, 404, 409, 415, 429],
  });
  route('delete', '/v1/tenants/{tenantId}/admin-users/{id}/mfa', {
    id: 'resetAdminUserMfa',
    summary: "Reset another admin's MFA (lost device): every factor and recovery code removed, their sessions end",
    access: 'key_admin',
    params: path('tenantId', 'id'),
    ok: [200, MfaReset],
    errors: [401, 403, 404, 409],
  });
  route('get', '/v1/tenants/{tenantId}/mfa-policy', {
    id: 'getMfaPolicy',
    summary: "The tenant's MFA policy",
    access: 'readers',
    params: path('tenantId'),
    ok: [200, MfaPolicy],
    errors: [401, 403, 404],
  });
  route('put', '/v1/tenants/{tenantId}/mfa-policy', {
    id: 'setMfaPolicy',
    summary: "Set the tenant's MFA policy (applies from each user's next sign-in step)",
    access: 'key_admin',
    params: path('tenantId'),
    body: MfaPolicy,
    ok: [200, MfaPolicy],
    errors: [400, 401, 403, 404, 415],
  });
}
