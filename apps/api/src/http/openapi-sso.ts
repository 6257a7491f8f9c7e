/**
 * OpenAPI paths and schemas of single sign-on (per-tenant OpenID Connect), spread into the document by openapi.ts.
 * The request schema mirrors `ssoSchemas.configuration` (http/sso.schemas.ts).
 */
import { type Schema, err, operations, ref, str, tenantParam, uuid } from './openapi-kit';

const E = {
  400: err('invalid configuration (VALIDATION_FAILED, SSO_ISSUER_REJECTED, SSO_CONFIG_INVALID, SSO_BREAK_GLASS_INVALID)'),
  401: err('missing or invalid token; for /v1/sso/session: no finished sign-in for this browser (SSO_HANDOFF_INVALID)'),
  403: err('role not allowed (separation of duties); SSO_ACCOUNT_DISABLED'),
  404: err('not found (also: another tenant); SSO_NOT_CONFIGURED'),
  415: err('body must be application/json'),
  422: err("the issuer's discovery document could not be read or names another issuer (SSO_ISSUER_UNREACHABLE)"),
  429: err('too many requests from this address (Retry-After)'),
  503: err('single sign-on is not enabled on this installation (SSO_UNAVAILABLE)'),
};

const op = operations(E);

const q = (name: string, required = false, schema: Schema = str) => ({ name, in: 'query', required, schema });

export const ssoPaths = {
  '/v1/tenants/{tenantId}/sso': {
    get: op({ id: 'getSsoConfiguration', summary: "The tenant's SSO configuration (the client secret is never returned); `configured: false` and the redirect URI when there is none", roles: ['key_admin', 'auditor'], params: [tenantParam], ok: [200, { oneOf: [ref('SsoConfiguration'), ref('SsoNotConfigured')] }], errors: [401, 403, 404] }),
    put: op({
      id: 'putSsoConfiguration',
      summary: "Create or replace the tenant's SSO configuration (issuer checked by discovery through the SSRF guard; secret stored sealed)",
      roles: ['key_admin'],
      params: [tenantParam],
      body: ref('SsoConfigurationInput'),
      ok: [200, ref('SsoConfiguration')],
      errors: [400, 401, 403, 404, 415, 422, 503],
    }),
    delete: op({ id: 'deleteSsoConfiguration', summary: 'Remove SSO (password sign-in applies again to everyone)', roles: ['key_admin'], params: [tenantParam], ok: [204, null], errors: [401, 403, 404] }),
  },
  '/v1/sso/login': {
    get: op({
      id: 'startSsoSignIn',
      summary: "Browser: start signing in through the tenant's IdP (authorization code + PKCE); sets an httpOnly cookie binding the attempt to the browser",
      params: [q('tenant_id', true)],
      ok: [302, 'redirect', "the IdP's authorization endpoint, or /#/sso-error/<CODE> on the console"],
      errors: [429],
    }),
  },
  '/v1/sso/callback': {
    get: op({
      id: 'completeSsoSignIn',
      summary: "Browser: the IdP's redirect back (code, state, iss); validates and provisions, then returns the browser to the console",
      params: [q('code'), q('state'), q('iss'), q('error')],
      ok: [302, 'redirect', '/#/sso-complete on success, /#/sso-error/<CODE> otherwise'],
      errors: [429],
    }),
  },
  '/v1/sso/session': {
    post: op({ id: 'collectSsoSession', summary: "Console: exchange the finished sign-in (this browser's cookies, once) for an admin access token", ok: [200, ref('SsoSession')], errors: [401, 403, 429] }),
  },
};

const roleMapping = { type: 'object', required: ['group', 'role'], additionalProperties: false, properties: { group: { type: 'string', minLength: 1, maxLength: 256 }, role: { enum: ['key_admin', 'auditor'] } } };

export const ssoSchemas = {
  SsoConfigurationInput: {
    type: 'object',
    required: ['issuer', 'clientId', 'allowedEmailDomains', 'roleMappings'],
    additionalProperties: false,
    properties: {
      issuer: { type: 'string', format: 'uri', maxLength: 512, description: 'https; no query or fragment; must not resolve to an internal address' },
      clientId: { type: 'string', minLength: 1, maxLength: 255 },
      clientSecret: { type: 'string', minLength: 1, maxLength: 1024, description: 'required the first time; omit to keep the stored one; never returned' },
      allowedEmailDomains: { type: 'array', items: str, minItems: 1, maxItems: 50, description: 'exact domains (no subdomains)' },
      groupsClaim: { type: 'string', default: 'groups', description: 'the ID token claim holding the group names' },
      roleMappings: { type: 'array', items: roleMapping, minItems: 1, maxItems: 100 },
      ssoRequired: { type: 'boolean', default: false, description: 'refuse password sign-in except for the break-glass key admin' },
      breakGlassAdminUserId: { type: ['string', 'null'], format: 'uuid', description: 'required with ssoRequired: an enabled key admin of the tenant' },
    },
  },
  SsoNotConfigured: { type: 'object', required: ['configured', 'redirectUri'], properties: { configured: { const: false }, redirectUri: str } },
  SsoConfiguration: {
    type: 'object',
    required: ['configured', 'issuer', 'clientId', 'clientSecretSet', 'allowedEmailDomains', 'groupsClaim', 'roleMappings', 'ssoRequired', 'redirectUri', 'version'],
    properties: {
      configured: { const: true },
      issuer: str,
      clientId: str,
      clientSecretSet: { const: true },
      allowedEmailDomains: { type: 'array', items: str },
      groupsClaim: str,
      roleMappings: { type: 'array', items: roleMapping },
      ssoRequired: { type: 'boolean' },
      breakGlassAdminUserId: { type: ['string', 'null'], format: 'uuid' },
      redirectUri: { ...str, description: 'register this at the IdP (from KEYHOLD_PUBLIC_URL, never from a request)' },
      version: { type: 'integer' },
      updatedAt: { type: 'string', format: 'date-time' },
    },
  },
  SsoSession: {
    description: "The session, or — when the tenant's MFA policy or the user's factors ask for one — the second sign-in step (continue at /v1/auth/mfa/… with mfa_token)",
    oneOf: [
      {
        type: 'object',
        required: ['access_token', 'token_type', 'expires_in', 'tenant_id', 'email', 'role'],
        properties: { access_token: str, token_type: { const: 'Bearer' }, expires_in: { type: 'integer' }, tenant_id: uuid, email: str, role: { enum: ['key_admin', 'auditor'] } },
      },
      {
        type: 'object',
        required: ['mfa_required', 'mfa_token', 'mfa_mode', 'methods', 'expires_in', 'tenant_id', 'email', 'role'],
        properties: {
          mfa_required: { const: true },
          mfa_token: str,
          mfa_mode: { enum: ['verify', 'enrol'] },
          methods: { type: 'array', items: str },
          expires_in: { type: 'integer' },
          tenant_id: uuid,
          email: str,
          role: { enum: ['key_admin', 'auditor'] },
        },
      },
    ],
  },
};
