import { ApiError, apiErrorFrom, toApiError } from './errors';
import type { AdminRole, MfaChallenge } from './types';

/** The tenant's SSO configuration as the API shows it (never the client secret). */
export interface SsoConfiguration {
  configured: true;
  issuer: string;
  clientId: string;
  clientSecretSet: true;
  allowedEmailDomains: string[];
  groupsClaim: string;
  roleMappings: Array<{ group: string; role: AdminRole }>;
  ssoRequired: boolean;
  breakGlassAdminUserId: string | null;
  redirectUri: string;
  version: number;
  updatedAt: string;
}

export interface SsoConfigurationInput {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  allowedEmailDomains: string[];
  groupsClaim: string;
  roleMappings: Array<{ group: string; role: AdminRole }>;
  ssoRequired: boolean;
  breakGlassAdminUserId: string | null;
}

/** Who signed in; with the session itself, or with the second sign-in step the tenant's MFA policy asks for. */
export type SsoSession = { tenant_id: string; email: string; role: AdminRole } & (
  | { access_token: string; token_type: 'Bearer'; expires_in: number }
  | MfaChallenge
);

/** Where the browser goes to start SSO: a top-level navigation (the API answers with a redirect to the IdP). */
export function ssoLoginUrl(tenantId: string): string {
  return `/v1/sso/login?tenant_id=${encodeURIComponent(tenantId)}`;
}

/**
 * The SSO routes. Configuration calls carry the bearer token like every admin call; collecting the finished sign-in
 * is the one request that sends cookies (the httpOnly, path-scoped ones the callback set), same-origin only.
 */
export class SsoApi {
  constructor(
    private readonly token: string,
    private readonly tenantId: string,
    private readonly onUnauthenticated: () => void = () => undefined,
  ) {}

  get(): Promise<SsoConfiguration | { configured: false; redirectUri: string }> {
    return this.call('GET');
  }

  put(input: SsoConfigurationInput): Promise<SsoConfiguration> {
    return this.call('PUT', input);
  }

  remove(): Promise<void> {
    return this.call('DELETE');
  }

  static async collectSession(): Promise<SsoSession> {
    return request<SsoSession>('POST', '/v1/sso/session', undefined, undefined, 'same-origin');
  }

  private async call<T>(method: string, body?: unknown): Promise<T> {
    try {
      return await request<T>(method, `/v1/tenants/${encodeURIComponent(this.tenantId)}/sso`, this.token, body, 'omit');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.onUnauthenticated();
      throw err;
    }
  }
}

async function request<T>(method: string, path: string, token: string | undefined, body: unknown, credentials: RequestCredentials): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials, cache: 'no-store', redirect: 'error' });
  } catch (err) {
    throw toApiError(err);
  }
  if (!res.ok) throw await apiErrorFrom(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}
