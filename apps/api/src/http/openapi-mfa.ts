/**
 * OpenAPI paths and schemas of the MFA routes (second step of sign-in, own factors, a key admin's reset, the
 * tenant's policy), spread into the document by openapi.ts.
 */
import { type Schema, err, idParam, operations, ref, str, tenantParam, uuid } from './openapi-kit';

const factorParam = { name: 'factorId', in: 'path', required: true, schema: uuid };

const E = {
  400: err('malformed or invalid request (VALIDATION_FAILED, WEBAUTHN_VERIFICATION_FAILED)'),
  401: err('missing, invalid or revoked token; for the sign-in step: MFA_CHALLENGE_INVALID (used, expired, abandoned) or MFA_CODE_INVALID (wrong or reused code)'),
  403: err('role not allowed; PASSKEY_REQUIRED (the tenant requires key admins to use a passkey); FRESH_AUTH_REQUIRED (sign in again first)'),
  404: err('not found (MFA_FACTOR_NOT_FOUND, ADMIN_USER_NOT_FOUND; also another tenant or a malformed id)'),
  409: err('conflict (MFA_METHOD_NOT_AVAILABLE, PASSKEY_ALREADY_REGISTERED, MFA_NOT_ENROLLED, MFA_RESET_SELF)'),
  415: err('body must be application/json'),
  429: err('too many requests from this address, or too many wrong codes for this user (RATE_LIMITED, Retry-After)'),
};

const op = operations(E);

const KEY_ADMIN = ['key_admin'];
const READERS = ['key_admin', 'auditor'];
const SIGN_IN_ERRORS: Array<keyof typeof E> = [400, 401, 403, 409, 415, 429];

export const mfaPaths = {
  '/v1/auth/mfa/totp': {
    post: op({ id: 'signInWithTotp', summary: 'Second step of sign-in: a TOTP code (each 30-second code works once)', body: ref('MfaCode'), ok: [200, ref('MfaSignedIn')], errors: SIGN_IN_ERRORS }),
  },
  '/v1/auth/mfa/recovery-code': {
    post: op({ id: 'signInWithRecoveryCode', summary: 'Second step of sign-in: a one-time recovery code (used up)', body: ref('MfaCode'), ok: [200, ref('MfaSignedIn')], errors: SIGN_IN_ERRORS }),
  },
  '/v1/auth/mfa/passkey/options': {
    post: op({ id: 'passkeySignInOptions', summary: 'WebAuthn request options (single-use challenge) for the passkey step', body: ref('MfaChallengeToken'), ok: [200, ref('WebAuthnOptions')], errors: SIGN_IN_ERRORS }),
  },
  '/v1/auth/mfa/passkey': {
    post: op({ id: 'signInWithPasskey', summary: 'Second step of sign-in: a passkey assertion', body: ref('MfaPasskeyAssertion'), ok: [200, ref('MfaSignedIn')], errors: SIGN_IN_ERRORS }),
  },
  '/v1/auth/mfa/enrol/totp': {
    post: op({ id: 'signInEnrolTotp', summary: 'Sign-in under a policy requiring MFA: start a TOTP set-up', body: ref('MfaEnrolTotp'), ok: [200, ref('TotpSetup')], errors: SIGN_IN_ERRORS }),
  },
  '/v1/auth/mfa/enrol/totp/confirm': {
    post: op({ id: 'signInConfirmTotp', summary: 'Sign-in under a policy requiring MFA: confirm the TOTP set-up with a code; signs in and returns recovery codes', body: ref('MfaConfirmTotpAtSignIn'), ok: [200, ref('MfaSignedIn')], errors: SIGN_IN_ERRORS }),
  },
  '/v1/auth/mfa/enrol/passkey/options': {
    post: op({ id: 'signInPasskeyRegistrationOptions', summary: 'Sign-in under a policy requiring MFA: WebAuthn creation options', body: ref('MfaChallengeToken'), ok: [200, ref('WebAuthnOptions')], errors: SIGN_IN_ERRORS }),
  },
  '/v1/auth/mfa/enrol/passkey': {
    post: op({ id: 'signInRegisterPasskey', summary: 'Sign-in under a policy requiring MFA: register a passkey; signs in and returns recovery codes', body: ref('MfaPasskeyRegistrationAtSignIn'), ok: [200, ref('MfaSignedIn')], errors: SIGN_IN_ERRORS }),
  },
  '/v1/tenants/{tenantId}/me/mfa': {
    get: op({ id: 'getOwnMfa', summary: 'Your factors (never a secret), recovery codes left, the tenant policy', roles: READERS, params: [tenantParam], ok: [200, ref('MfaStatus')], errors: [401, 403, 404] }),
  },
  '/v1/tenants/{tenantId}/me/mfa/totp': {
    post: op({ id: 'startTotp', summary: 'Start a TOTP set-up (recent sign-in required): the secret and otpauth URI, shown once', roles: READERS, params: [tenantParam], body: ref('StartTotp'), ok: [201, ref('TotpSetup')], errors: [400, 401, 403, 404, 415, 429] }),
  },
  '/v1/tenants/{tenantId}/me/mfa/totp/{factorId}/confirm': {
    post: op({ id: 'confirmTotp', summary: 'Confirm a TOTP set-up with a current code; your first factor comes with recovery codes', roles: READERS, params: [tenantParam, factorParam], body: ref('TotpCode'), ok: [200, ref('FactorAdded')], errors: [400, 401, 403, 404, 415, 429] }),
  },
  '/v1/tenants/{tenantId}/me/mfa/passkeys/options': {
    post: op({ id: 'passkeyRegistrationOptions', summary: 'WebAuthn creation options (single-use challenge; recent sign-in required)', roles: READERS, params: [tenantParam], body: ref('Empty'), ok: [200, ref('WebAuthnOptions')], errors: [400, 401, 403, 404, 415, 429] }),
  },
  '/v1/tenants/{tenantId}/me/mfa/passkeys': {
    post: op({ id: 'registerPasskey', summary: 'Register a passkey; your first factor comes with recovery codes', roles: READERS, params: [tenantParam], body: ref('RegisterPasskey'), ok: [201, ref('FactorAdded')], errors: [400, 401, 403, 404, 409, 415, 429] }),
  },
  '/v1/tenants/{tenantId}/me/mfa/factors/{factorId}': {
    delete: op({ id: 'removeFactor', summary: 'Remove one of your factors (recent sign-in required; the last one takes the recovery codes with it)', roles: READERS, params: [tenantParam, factorParam], ok: [204, null], errors: [401, 403, 404, 429] }),
  },
  '/v1/tenants/{tenantId}/me/mfa/recovery-codes': {
    post: op({ id: 'regenerateRecoveryCodes', summary: 'New recovery codes (the old ones stop working; recent sign-in required)', roles: READERS, params: [tenantParam], body: ref('Empty'), ok: [201, ref('RecoveryCodes')], errors: [400, 401, 403, 404, 409, 415, 429] }),
  },
  '/v1/tenants/{tenantId}/admin-users/{id}/mfa': {
    delete: op({ id: 'resetAdminUserMfa', summary: "Reset another admin's MFA (lost device): every factor and recovery code removed, their sessions end", roles: KEY_ADMIN, params: [tenantParam, idParam], ok: [200, ref('MfaReset')], errors: [401, 403, 404, 409] }),
  },
  '/v1/tenants/{tenantId}/mfa-policy': {
    get: op({ id: 'getMfaPolicy', summary: "The tenant's MFA policy", roles: READERS, params: [tenantParam], ok: [200, ref('MfaPolicy')], errors: [401, 403, 404] }),
    put: op({ id: 'setMfaPolicy', summary: "Set the tenant's MFA policy (applies from each user's next sign-in step)", roles: KEY_ADMIN, params: [tenantParam], body: ref('MfaPolicy'), ok: [200, ref('MfaPolicy')], errors: [400, 401, 403, 404, 415] }),
  },
};

const label = { type: 'string', maxLength: 64 };
const mfaToken = { type: 'string', description: 'the mfa_token a password sign-in returned' };
const factor = {
  type: 'object',
  required: ['id', 'kind', 'label', 'createdAt'],
  properties: { id: uuid, kind: { enum: ['totp', 'passkey'] }, label: str, createdAt: { type: 'string', format: 'date-time' }, lastUsedAt: { type: ['string', 'null'], format: 'date-time' } },
};
const credential = { type: 'object', description: 'the PublicKeyCredential as JSON (@simplewebauthn/browser startRegistration / startAuthentication)', required: ['id', 'rawId', 'type', 'response'] };
const policy = { enum: ['none', 'mfa_required', 'passkey_required_for_key_admins'] };

export const mfaSchemas: Record<string, Schema> = {
  MfaChallenge: {
    type: 'object',
    required: ['mfa_required', 'mfa_token', 'mfa_mode', 'methods', 'expires_in'],
    description: 'Answer of the password grant for a user with MFA (or under a policy requiring it): not a session; the mfa_token opens only /v1/auth/mfa/*',
    properties: { mfa_required: { const: true }, mfa_token: str, mfa_mode: { enum: ['verify', 'enrol'] }, methods: { type: 'array', items: { enum: ['passkey', 'totp', 'recovery_code'] } }, expires_in: { type: 'integer' } },
  },
  MfaSignedIn: {
    type: 'object',
    required: ['access_token', 'token_type', 'expires_in'],
    properties: { access_token: str, token_type: { const: 'Bearer' }, expires_in: { type: 'integer' }, recovery_codes: { type: 'array', items: str }, recovery_codes_remaining: { type: 'integer' } },
  },
  MfaChallengeToken: { type: 'object', required: ['mfa_token'], additionalProperties: false, properties: { mfa_token: mfaToken } },
  MfaCode: { type: 'object', required: ['mfa_token', 'code'], additionalProperties: false, properties: { mfa_token: mfaToken, code: str } },
  MfaPasskeyAssertion: { type: 'object', required: ['mfa_token', 'credential'], additionalProperties: false, properties: { mfa_token: mfaToken, credential } },
  MfaEnrolTotp: { type: 'object', required: ['mfa_token'], additionalProperties: false, properties: { mfa_token: mfaToken, label } },
  MfaConfirmTotpAtSignIn: { type: 'object', required: ['mfa_token', 'factorId', 'code'], additionalProperties: false, properties: { mfa_token: mfaToken, factorId: uuid, code: str } },
  MfaPasskeyRegistrationAtSignIn: { type: 'object', required: ['mfa_token', 'credential'], additionalProperties: false, properties: { mfa_token: mfaToken, credential, label } },
  WebAuthnOptions: { type: 'object', description: 'PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON', required: ['challenge'], properties: { challenge: str, rpId: str, rp: { type: 'object' } } },
  TotpSetup: { type: 'object', required: ['factorId', 'secret', 'otpauthUri'], properties: { factorId: uuid, secret: { type: 'string', description: 'base32; shown once' }, otpauthUri: str } },
  StartTotp: { type: 'object', additionalProperties: false, properties: { label } },
  TotpCode: { type: 'object', required: ['code'], additionalProperties: false, properties: { code: { type: 'string', pattern: '^[0-9]{6}$' } } },
  RegisterPasskey: { type: 'object', required: ['credential'], additionalProperties: false, properties: { credential, label } },
  Empty: { type: 'object', additionalProperties: false, properties: {} },
  Factor: factor,
  FactorAdded: { type: 'object', required: ['factor'], properties: { factor: ref('Factor'), recoveryCodes: { type: 'array', items: str, description: 'only with your first factor; shown once' } } },
  RecoveryCodes: { type: 'object', required: ['recoveryCodes'], properties: { recoveryCodes: { type: 'array', items: str } } },
  MfaStatus: { type: 'object', required: ['factors', 'recoveryCodesRemaining', 'policy'], properties: { factors: { type: 'array', items: ref('Factor') }, recoveryCodesRemaining: { type: 'integer' }, policy } },
  MfaReset: { type: 'object', required: ['factorsRemoved'], properties: { factorsRemoved: { type: 'integer' } } },
  MfaPolicy: { type: 'object', required: ['policy'], additionalProperties: false, properties: { policy } },
};
