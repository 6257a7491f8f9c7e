import { ApiError, apiErrorFrom, toApiError } from './errors';
import type {
  AdminRole,
  AdminUser,
  Invitation,
  InvitationDetails,
  AuditPage,
  AuditVerification,
  AuditCheckpoint,
  AuditPublicKey,
  CreatedServicePrincipal,
  KeyConfiguration,
  Operation,
  OperationKind,
  RegisterKeyConfiguration,
  RotatedSecret,
  ServicePrincipal,
  ServicePrincipalChange,
  ServicePrincipalDetail,
  Tenant,
  TokenResponse,
  Workspace,
  MfaChallenge,
  MfaFactor,
  MfaPolicy,
  MfaStatus,
  TotpSetup,
  SiemDestination,
  SiemDestinationWithSecret,
  SiemFormat,
  SiemKind,
  OperationHistoryPage,
  Page,
  WorkspaceQuery,
  KeyConfigurationQuery,
  ServicePrincipalQuery,
  BulkRequest,
  BulkOperation,
} from './types';

/**
 * The typed client for the public admin API (docs/API.md); the console talks to nothing else. Same-origin:
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
  static async signIn(tenantId: string, email: string, password: string, baseUrl = ''): Promise<TokenResponse | MfaChallenge> {
    return send<TokenResponse | MfaChallenge>(baseUrl, 'POST', '/v1/auth/token', undefined, {
      grant_type: 'password',
      tenant_id: tenantId,
      username: email,
      password,
    });
  }

  /** The second step of sign-in (`/v1/auth/mfa/…`): the mfa_token from the password step is the only credential. */
  static mfaStep<T = TokenResponse>(path: string, body: Record<string, unknown>, baseUrl = ''): Promise<T> {
    return send<T>(baseUrl, 'POST', `/v1/auth/mfa/${path}`, undefined, body);
  }

  /** Public one-time-link routes: the token goes in the body, never in a URL. */
  static describeInvitation(token: string, baseUrl = ''): Promise<InvitationDetails> {
    return send<InvitationDetails>(baseUrl, 'POST', '/v1/invitations/lookup', undefined, { token });
  }

  static acceptInvitation(token: string, password: string, baseUrl = ''): Promise<{ tenantId: string; email: string; role: AdminRole }> {
    return send(baseUrl, 'POST', '/v1/invitations/accept', undefined, { token, password });
  }

  static requestPasswordReset(tenantId: string, email: string, baseUrl = ''): Promise<void> {
    return send(baseUrl, 'POST', '/v1/password-resets', undefined, { tenant_id: tenantId, email });
  }

  static completePasswordReset(token: string, password: string, baseUrl = ''): Promise<void> {
    return send(baseUrl, 'POST', '/v1/password-resets/complete', undefined, { token, password });
  }

  listAdminUsers(): Promise<AdminUser[]> {
    return this.call<unknown>('GET', this.t('/admin-users')).then((b) => listOf<AdminUser>(b, 'adminUsers'));
  }

  updateAdminUser(id: string, change: { role?: AdminRole; disabled?: boolean }): Promise<AdminUser> {
    return this.call('PATCH', this.t(`/admin-users/${seg(id)}`), change);
  }

  deleteAdminUser(id: string): Promise<void> {
    return this.call('DELETE', this.t(`/admin-users/${seg(id)}`));
  }

  listInvitations(): Promise<Invitation[]> {
    return this.call<unknown>('GET', this.t('/invitations')).then((b) => listOf<Invitation>(b, 'invitations'));
  }

  invite(email: string, role: AdminRole): Promise<Invitation> {
    return this.call('POST', this.t('/invitations'), { email, role });
  }

  revokeInvitation(id: string): Promise<void> {
    return this.call('DELETE', this.t(`/invitations/${seg(id)}`));
  }

  /** Ends every session of the user, this one included (the caller signs in again with the new password). */
  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return this.call('POST', this.t('/me/password'), { currentPassword, newPassword });
  }

  mfaStatus(): Promise<MfaStatus> {
    return this.call('GET', this.t('/me/mfa'));
  }

  startTotp(label: string): Promise<TotpSetup> {
    return this.call('POST', this.t('/me/mfa/totp'), label ? { label } : {});
  }

  confirmTotp(factorId: string, code: string): Promise<{ factor: MfaFactor; recoveryCodes?: string[] }> {
    return this.call('POST', this.t(`/me/mfa/totp/${seg(factorId)}/confirm`), { code });
  }

  passkeyRegistrationOptions(): Promise<Record<string, unknown>> {
    return this.call('POST', this.t('/me/mfa/passkeys/options'), {});
  }

  registerPasskey(credential: unknown, label: string): Promise<{ factor: MfaFactor; recoveryCodes?: string[] }> {
    return this.call('POST', this.t('/me/mfa/passkeys'), label ? { credential, label } : { credential });
  }

  removeFactor(id: string): Promise<void> {
    return this.call('DELETE', this.t(`/me/mfa/factors/${seg(id)}`));
  }

  regenerateRecoveryCodes(): Promise<{ recoveryCodes: string[] }> {
    return this.call('POST', this.t('/me/mfa/recovery-codes'), {});
  }

  setMfaPolicy(policy: MfaPolicy): Promise<{ policy: MfaPolicy }> {
    return this.call('PUT', this.t('/mfa-policy'), { policy });
  }

  resetAdminUserMfa(id: string): Promise<{ factorsRemoved: number }> {
    return this.call('DELETE', this.t(`/admin-users/${seg(id)}/mfa`));
  }

  getTenant(): Promise<Tenant> {
    return this.call('GET', this.t(''));
  }

  /** Every key configuration of the tenant (a tenant has few; the list route pages, this follows every page). */
  listKeyConfigurations(): Promise<KeyConfiguration[]> {
    return this.allPages((cursor) => this.pageKeyConfigurations({ sort: 'name', limit: 200 }, cursor));
  }

  /** One page of key configurations, searched and filtered by the server. */
  pageKeyConfigurations(query: KeyConfigurationQuery, cursor?: string | null): Promise<Page<KeyConfiguration>> {
    return this.page('/key-configurations', 'keyConfigurations', { ...query }, cursor);
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

  /** One page of workspaces, searched, filtered and sorted by the server. */
  pageWorkspaces(query: WorkspaceQuery, cursor?: string | null): Promise<Page<Workspace>> {
    return this.page('/workspaces', 'workspaces', { ...query }, cursor);
  }

  /** Bind, re-key or rewrap many workspaces as one tracked operation (202 with its first state). */
  startBulkOperation(request: BulkRequest): Promise<BulkOperation> {
    return this.call('POST', this.t('/bulk-operations'), request);
  }

  getBulkOperation(id: string): Promise<BulkOperation> {
    return this.call('GET', this.t(`/bulk-operations/${seg(id)}`));
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

  /** The checkpoint at `seq` (the page after seq - 1), or null. */
  async auditCheckpointAt(seq: number): Promise<AuditCheckpoint | null> {
    const q = new URLSearchParams({ after: String(Math.max(0, seq - 1)), limit: '1' });
    const page = await this.call<{ checkpoints: AuditCheckpoint[] }>('GET', this.t(`/audit-events/checkpoints?${q}`));
    return page.checkpoints[0]?.seq === seq ? page.checkpoints[0] : null;
  }

  createAuditCheckpoint(): Promise<{ checkpoint: AuditCheckpoint | null }> {
    return this.call('POST', this.t('/audit-events/checkpoints'), {});
  }

  auditPublicKeys(): Promise<AuditPublicKey[]> {
    return this.call<{ keys: AuditPublicKey[] }>('GET', '/v1/audit/public-keys').then((b) => b.keys);
  }

  /** One page of service principals, searched and filtered by the server. */
  pageServicePrincipals(query: ServicePrincipalQuery, cursor?: string | null): Promise<Page<ServicePrincipal>> {
    return this.page('/service-principals', 'servicePrincipals', { ...query }, cursor);
  }

  /** GET a list route with its query (arrays comma-joined, empty values left out) and the cursor of the page. */
  private async page<T>(path: string, key: string, query: Record<string, unknown>, cursor?: string | null): Promise<Page<T>> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
      q.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    if (cursor) q.set('cursor', cursor);
    const body = await this.call<Record<string, unknown>>('GET', this.t(`${path}${q.size ? `?${q}` : ''}`));
    return { items: listOf<T>(body, key), next: typeof body?.next === 'string' ? body.next : null };
  }

  private async allPages<T>(page: (cursor: string | null) => Promise<Page<T>>): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | null = null;
    do {
      const p: Page<T> = await page(cursor);
      out.push(...p.items);
      cursor = p.next;
    } while (cursor);
    return out;
  }

  createServicePrincipal(name: string, workspaceIds: string[]): Promise<CreatedServicePrincipal> {
    return this.call('POST', this.t('/service-principals'), { name, workspaceIds });
  }

  getServicePrincipal(id: string): Promise<ServicePrincipalDetail> {
    return this.call('GET', this.t(`/service-principals/${seg(id)}`));
  }

  updateServicePrincipal(id: string, change: ServicePrincipalChange): Promise<ServicePrincipalDetail> {
    return this.call('PATCH', this.t(`/service-principals/${seg(id)}`), change);
  }

  deleteServicePrincipal(id: string): Promise<void> {
    return this.call('DELETE', this.t(`/service-principals/${seg(id)}`));
  }

  rotateServicePrincipalSecret(id: string, overlapSeconds: number): Promise<RotatedSecret> {
    return this.call('POST', this.t(`/service-principals/${seg(id)}/secrets`), { overlapSeconds });
  }

  revokeServicePrincipalSecret(id: string, secretId: string): Promise<void> {
    return this.call('DELETE', this.t(`/service-principals/${seg(id)}/secrets/${seg(secretId)}`));
  }

  /** The workspace's operations, newest first; `filter` narrows by kind and state, `cursor` continues a page. */
  listWorkspaceOperations(workspaceId: string, filter: { kind?: string; state?: string; cursor?: string | null; limit?: number } = {}): Promise<OperationHistoryPage> {
    const q = new URLSearchParams();
    if (filter.kind) q.set('kind', filter.kind);
    if (filter.state) q.set('state', filter.state);
    if (filter.cursor) q.set('cursor', filter.cursor);
    q.set('limit', String(filter.limit ?? 10));
    return this.call('GET', this.t(`/workspaces/${seg(workspaceId)}/operations?${q.toString()}`));
  }

  listSiemDestinations(): Promise<SiemDestination[]> {
    return this.call<{ destinations: SiemDestination[] }>('GET', this.t('/siem-destinations')).then((b) => b.destinations);
  }

  createSiemDestination(input: { name: string; kind: SiemKind; format: SiemFormat; url: string; token?: string }): Promise<SiemDestinationWithSecret> {
    return this.call('POST', this.t('/siem-destinations'), input);
  }

  rotateSiemSecret(id: string, change: { token?: string; overlapSeconds?: number } = {}): Promise<SiemDestinationWithSecret> {
    return this.call('POST', this.t(`/siem-destinations/${seg(id)}/secret`), change);
  }

  retrySiemDestination(id: string): Promise<{ destination: SiemDestination }> {
    return this.call('POST', this.t(`/siem-destinations/${seg(id)}/retry`), {});
  }

  deleteSiemDestination(id: string): Promise<void> {
    return this.call('DELETE', this.t(`/siem-destinations/${seg(id)}`));
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
