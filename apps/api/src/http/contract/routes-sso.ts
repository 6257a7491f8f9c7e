import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { path, routes } from './kit';
import { SsoConfigurationInput, ssoCallbackQuery, ssoLoginQuery } from './requests';
import { SsoConfiguration, SsoNotConfigured, SsoSession } from './responses';

const TEXT_sso = {
  400: 'invalid configuration (VALIDATION_FAILED, SSO_ISSUER_REJECTED, SSO_CONFIG_INVALID, SSO_BREAK_GLASS_INVALID)',
  401: 'missing or invalid token; for /v1/sso/session: no finished sign-in for this browser (SSO_HANDOFF_INVALID)',
  403: 'role not allowed (separation of duties); SSO_ACCOUNT_DISABLED',
  404: 'not found (also: another tenant); SSO_NOT_CONFIGURED',
  415: 'body must be application/json',
  422: "the issuer's discovery document could not be read or names another issuer (SSO_ISSUER_UNREACHABLE)",
  429: 'too many requests from this address (Retry-After)',
  503: 'single sign-on is not enabled on this installation (SSO_UNAVAILABLE)',
};

export function ssoRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_sso);
  route('get', '/v1/tenants/{tenantId}/sso', {
    id: 'getSsoConfiguration',
    summary:
      "The tenant's SSO configuration (the client secret is never returned); `configured: false` and the redirect URI when there is none",
    access: 'readers',
    params: path('tenantId'),
    ok: [200, z.union([SsoConfiguration, SsoNotConfigured])],
    errors: [401, 403, 404],
  });
  route('put', '/v1/tenants/{tenantId}/sso', {
    id: 'putSsoConfiguration',
    summary:
      "Create or replace the tenant's SSO configuration (issuer checked by discovery through the SSRF guard; secret stored sealed)",
    access: 'key_admin',
    params: path('tenantId'),
    body: SsoConfigurationInput,
    ok: [200, SsoConfiguration],
    errors: [400, 401, 403, 404, 415, 422, 503],
  });
  route('delete', '/v1/tenants/{tenantId}/sso', {
    id: 'deleteSsoConfiguration',
    summary: 'Remove SSO (password sign-in applies again to everyone)',
    access: 'key_admin',
    params: path('tenantId'),
    ok: [204, null],
    errors: [401, 403, 404],
  });
  route('get', '/v1/sso/login', {
    id: 'startSsoSignIn',
    summary:
      "Browser: start signing in through the tenant's IdP (authorization code + PKCE); sets an httpOnly cookie binding the attempt to the browser",
    access: 'public',
    query: ssoLoginQuery,
    ok: [302, 'redirect', "the IdP's authorization endpoint, or /#/sso-error/<CODE> on the console"],
    errors: [429],
  });
  route('get', '/v1/sso/callback', {
    id: 'completeSsoSignIn',
    summary:
      "Browser: the IdP's redirect back (code, state, iss); validates and provisions, then returns the browser to the console",
    access: 'public',
    query: ssoCallbackQuery,
    ok: [302, 'redirect', '/#/sso-complete on success, /#/sso-error/<CODE> otherwise'],
    errors: [429],
  });
  route('post', '/v1/sso/session', {
    id: 'collectSsoSession',
    summary: "Console: exchange the finished sign-in (this browser's cookies, once) for an admin access token",
    access: 'public',
    ok: [200, SsoSession],
    errors: [401, 403, 429],
  });
}
