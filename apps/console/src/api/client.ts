import { ApiError, apiErrorFrom, toApiError } from './errors';
import type {
  AuditPage,
  AuditVerification,
  CreatedServicePrincipal,
  KeyConfiguration,
  Operation,
  OperationKind,
  RegisterKeyConfiguration,
  ServicePrincipal,
  Tenant,
  TokenResponse,
  Workspace,
} from './types';

/**
 * The typed client for the public admin API (shared/API.md); the console talks to nothing else. Same-origin:
 * the API serves the console, so the bearer token never travels to another host. Every failure becomes an
 * ApiError; a 401 also tells the session so the user is sent back to sign-in.
 */
export class ApiClient {
  constructor(
    private readonly token: string,
    readonly tenantId: string,
    private readonly onUnauthenticated: () => void = () => undefined,
    private readonly baseUrl = '',
  ) {}

  /** `POST /v1/auth/token` with the password grant. Static: there is no token yet. */
  static async signIn(tenantId: string, email: string, password: string, baseUrl = ''): Promise<TokenResponse> {
    return send<TokenResponse>(baseUrl, 'POST', '/v1/auth/token', undefined, {
      grant_type: 'password',
      tenant_id: tenantId,
      username: email,
      password,
    });
  }

  getTenant(): Promise<Tenant> {
    return this.call('GET', this.t(''));
  }

  listKeyConfigurations(): Promise<KeyConfiguration[]> {
    return this.call<unknown>('GET', this.t('/key-configurations')).then((b) => listOf<KeyConfiguration>(b, 'keyConfigurations'));
  }

  getKeyConfiguration(id: string): Promise<KeyConfiguration> {
    return this.call('GET', this.t(`/key-configurations/${seg(id)}`));
  }

  registerKeyConfiguration(input: RegisterKeyConfiguration): Promise<KeyConfiguration> {
    return this.call('POST', this.t('/key-configurations'), input);
  }

  validateKeyConfiguration(id: string): Promise<KeyConfiguration> {
    return this.call('POST', this.t(`/key-configurations/${seg(id)}/validate`), {});
  }

  deleteKeyConfiguration(id: string): Promise<void> {
    return this.call('DELETE', this.t(`/key-configurations/${seg(id)}`));
  }

  listWorkspaces(): Promise<Workspace[]> {
    return this.call<unknown>('GET', this.t('/workspaces')).then((b) => listOf<Workspace>(b, 'workspaces'));
  }

  getWorkspace(id: string): Promise<Workspace> {
    return this.call('GET', this.t(`/workspaces/${seg(id)}`));
  }

  createWorkspace(name: string): Promise<Workspace> {
    return this.call('POST', this.t('/workspaces'), { name });
  }

  /** Destroys the workspace for good; `confirm` is its name, typed back by the admin. */
  destroyWorkspace(id: string, confirm: string): Promise<Workspace> {
    return this.call('DELETE', this.t(`/workspaces/${seg(id)}`), { confirm });
  }

  /** First binding answers the workspace (200); a re-bind answers `{operationId}` (202, a re-key). */
  async bindWorkspace(id: string, keyConfigurationId: string): Promise<{ workspace?: Workspace; operationId?: string }> {
    const body = await this.call<Workspace & { operationId?: string }>('PUT', this.t(`/workspaces/${seg(id)}/key-binding`), { keyConfigurationId });
    return body && typeof body.operationId === 'string' ? { operationId: body.operationId } : { workspace: body };
  }

  startOperation(workspaceId: string, kind: OperationKind): Promise<{ operationId: string }> {
    return this.call('POST', this.t(`/workspaces/${seg(workspaceId)}/operations`), { kind });
  }

  getOperation(id: string): Promise<Operation> {
    return this.call('GET', this.t(`/operations/${seg(id)}`));
  }

  listAuditEvents(after = 0, limit = 50): Promise<AuditPage> {
    const q = new URLSearchParams({ after: String(after), limit: String(limit) });
    return this.call('GET', this.t(`/audit-events?${q}`));
  }

  verifyAuditChain(): Promise<AuditVerification> {
    return this.call('GET', this.t('/audit-events/verification'));
  }

  listServicePrincipals(): Promise<ServicePrincipal[]> {
    return this.call<unknown>('GET', this.t('/service-principals')).then((b) => listOf<ServicePrincipal>(b, 'servicePrincipals'));
  }

  createServicePrincipal(name: string, workspaceIds: string[]): Promise<CreatedServicePrincipal> {
    return this.call('POST', this.t('/service-principals'), { name, workspaceIds });
  }

  private t(path: string): string {
    return `/v1/tenants/${seg(this.tenantId)}${path}`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await send<T>(this.baseUrl, method, path, this.token, body);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.onUnauthenticated();
      throw err;
    }
  }
}

async function send<T>(baseUrl: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch (err) {
    throw toApiError(err);
  }
  if (!res.ok) throw await apiErrorFrom(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Lists may come bare or wrapped (`{items}` / `{workspaces}`): accept both so a wrapper change does not blank a page. */
function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    for (const k of [key, 'items', 'data']) if (Array.isArray(o[k])) return o[k] as T[];
  }
  return [];
}

/** Ids go into paths: encode them so a crafted id cannot change the path. */
function seg(id: string): string {
  return encodeURIComponent(id);
}
