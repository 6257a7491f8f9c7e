import { answer, apiFetch, type Api } from './client';
import { ApiError } from './errors';
import type { components } from './schema.gen';

type S = components['schemas'];
/** The tenant's SSO configuration as the API shows it (never the client secret). */
export type SsoConfiguration = S['SsoConfiguration'];
export type SsoConfigurationInput = S['SsoConfigurationInput'];
/** Who signed in; with the session itself, or with the second sign-in step the tenant's MFA policy asks for. */
export type SsoSession = S['SsoSession'];

/** Where the browser goes to start SSO: a top-level navigation (the API answers with a redirect to the IdP). */
export function ssoLoginUrl(tenantId: string): string {
  return `/v1/sso/login?tenant_id=${encodeURIComponent(tenantId)}`;
}

/**
 * The SSO routes. Configuration calls carry the bearer token like every admin call; collecting the finished sign-in
 * is the one request that sends cookies (the httpOnly, path-scoped ones the callback set), same-origin only.
 */
export class SsoApi {
  private readonly api: Api;
  private readonly tenant: { params: { path: { tenantId: string } } };

  constructor(
    token: string,
    tenantId: string,
    private readonly onUnauthenticated: () => void = () => undefined,
  ) {
    this.api = apiFetch(token);
    this.tenant = { params: { path: { tenantId } } };
  }

  get(): Promise<SsoConfiguration | S['SsoNotConfigured']> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/sso', this.tenant));
  }

  put(input: SsoConfigurationInput): Promise<SsoConfiguration> {
    return this.call(this.api.PUT('/v1/tenants/{tenantId}/sso', { ...this.tenant, body: input }));
  }

  remove(): Promise<void> {
    return this.call(this.api.DELETE('/v1/tenants/{tenantId}/sso', this.tenant)).then(() => undefined);
  }

  /** The one request that sends cookies (same-origin only): the httpOnly, path-scoped ones the callback set. */
  static collectSession(): Promise<SsoSession> {
    return answer(apiFetch(undefined, '', 'same-origin').POST('/v1/sso/session'));
  }

  private async call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    try {
      return await answer(request);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.onUnauthenticated();
      throw err;
    }
  }
}
