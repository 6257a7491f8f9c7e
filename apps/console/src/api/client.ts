import createClient, { type Client } from 'openapi-fetch';
import { ApiError, apiErrorOf, toApiError } from './errors';
import type { paths } from './schema.gen';
import type {
  AdminRole,
  AdminUser,
  AuditCheckpoint,
  AuditPage,
  AuditQuery,
  AuditPublicKey,
  AuditVerification,
  CreatedServicePrincipal,
  Invitation,
  InvitationDetails,
  InvitationSent,
  AcceptedInvitation,
  KeyConfiguration,
  MfaChallenge,
  MfaFactor,
  MfaPolicy,
  MfaStatus,
  Operation,
  OperationHistoryPage,
  OperationKind,
  RegisterKeyConfiguration,
  RotatedSecret,
  ServicePrincipal,
  ServicePrincipalChange,
  ServicePrincipalDetail,
  SiemDestination,
  SiemDestinationWithSecret,
  SiemFormat,
  SiemKind,
  Tenant,
  TokenResponse,
  TotpSetup,
  Workspace,
  AccessReason,
  KeyUseBucket,
  KeyUseByReason,
  PrincipalReasons,
  WorkspaceReasonPolicy,
  Page,
  WorkspaceQuery,
  KeyConfigurationQuery,
  ServicePrincipalQuery,
  BulkRequest,
  BulkOperation,
} from './types';

/** openapi-fetch over the generated paths: every path, parameter, body and answer is checked against the contract. */
export type Api = Client<paths>;

/**
 * A client for the API. Same-origin (the API serves the console), so the bearer token never travels to another
 * host; no cookies unless asked for (`credentials`), no cache, redirects are errors. Path parameters are
 * URL-encoded by openapi-fetch, so a crafted id cannot change the path.
 */
export function apiFetch(token?: string, baseUrl = '', credentials: RequestCredentials = 'omit'): Api {
  return createClient<paths>({
    baseUrl,
    credentials,
    cache: 'no-store',
    redirect: 'error',
    headers: token ? { accept: 'application/json', authorization: `Bearer ${token}` } : { accept: 'application/json' },
  });
}

/** The answer's body; a failure becomes an ApiError (the API's code and sentence; NETWORK when nothing answered). */
export async function answer<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await call;
  } catch (err) {
    throw toApiError(err);
  }
  if (!r.response.ok) throw apiErrorOf(r.response, r.error);
  return r.data as T;
}

const done = (): void => undefined;

/** The steps of the second sign-in step (`/v1/auth/mfa/<step>`), with their bodies and answers from the contract. */
export type MfaStep = keyof paths extends infer K ? (K extends `/v1/auth/mfa/${infer S}` ? S : never) : never;
type MfaStepBody<S extends MfaStep> = paths[`/v1/auth/mfa/${S}`] extends {
  post: { requestBody?: { content: { 'application/json': infer B } } };
}
  ? B
  : never;
type MfaStepAnswer<S extends MfaStep> = paths[`/v1/auth/mfa/${S}`] extends {
  post: { responses: { 200: { content: { 'application/json': infer A } } } };
}
  ? A
  : never;

/**
 * The typed client for the public admin API (docs/API.md); the console talks to nothing else. Every failure
 * becomes an ApiError; a 401 also tells the session so the user is sent back to sign-in.
 */
export class ApiClient {
  private readonly api: Api;
  private readonly tenant: { params: { path: { tenantId: string } } };

  constructor(
    token: string,
    readonly tenantId: string,
    private readonly onUnauthenticated: () => void = () => undefined,
    baseUrl = '',
  ) {
    this.api = apiFetch(token, baseUrl);
    this.tenant = { params: { path: { tenantId } } };
  }

  /** `POST /v1/auth/token` with the password grant. Static: there is no token yet. */
  static signIn(
    tenantId: string,
    email: string,
    password: string,
    baseUrl = '',
  ): Promise<TokenResponse | MfaChallenge> {
    return answer(
      apiFetch(undefined, baseUrl).POST('/v1/auth/token', {
        body: { grant_type: 'password', tenant_id: tenantId, username: email, password },
      }),
    );
  }

  /** The second step of sign-in: the mfa_token from the password step is the only credential. */
  static mfaStep<S extends MfaStep>(step: S, body: MfaStepBody<S>, baseUrl = ''): Promise<MfaStepAnswer<S>> {
    // openapi-fetch checks one literal path at a time; the step's own body and answer types are enforced above.
    const post = apiFetch(undefined, baseUrl).POST as unknown as (
      path: string,
      init: { body: unknown },
    ) => Promise<{ data?: MfaStepAnswer<S>; error?: unknown; response: Response }>;
    return answer(post(`/v1/auth/mfa/${step}`, { body }));
  }

  /** Public one-time-link routes: the token goes in the body, never in a URL. */
  static describeInvitation(token: string, baseUrl = ''): Promise<InvitationDetails> {
    return answer(apiFetch(undefined, baseUrl).POST('/v1/invitations/lookup', { body: { token } }));
  }

  static async acceptInvitation(token: string, password: string, baseUrl = ''): Promise<AcceptedInvitation> {
    return answer(apiFetch(undefined, baseUrl).POST('/v1/invitations/accept', { body: { token, password } }));
  }

  static requestPasswordReset(tenantId: string, email: string, baseUrl = ''): Promise<void> {
    return answer(
      apiFetch(undefined, baseUrl).POST('/v1/password-resets', { body: { tenant_id: tenantId, email } }),
    ).then(done);
  }

  static completePasswordReset(token: string, password: string, baseUrl = ''): Promise<void> {
    return answer(
      apiFetch(undefined, baseUrl).POST('/v1/password-resets/complete', { body: { token, password } }),
    ).then(done);
  }

  private path<E extends Record<string, string>>(extra: E): { params: { path: { tenantId: string } & E } } {
    return { params: { path: { tenantId: this.tenantId, ...extra } } };
  }

  listAdminUsers(): Promise<AdminUser[]> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/admin-users', this.tenant)).then((b) => b.adminUsers);
  }

  updateAdminUser(id: string, change: { role?: AdminRole; disabled?: boolean }): Promise<AdminUser> {
    return this.call(this.api.PATCH('/v1/tenants/{tenantId}/admin-users/{id}', { ...this.path({ id }), body: change }));
  }

  deleteAdminUser(id: string): Promise<void> {
    return this.call(this.api.DELETE('/v1/tenants/{tenantId}/admin-users/{id}', this.path({ id }))).then(done);
  }

  listInvitations(): Promise<Invitation[]> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/invitations', this.tenant)).then((b) => b.invitations);
  }

  invite(email: string, role: AdminRole): Promise<InvitationSent> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/invitations', { ...this.tenant, body: { email, role } }));
  }

  revokeInvitation(id: string): Promise<void> {
    return this.call(this.api.DELETE('/v1/tenants/{tenantId}/invitations/{id}', this.path({ id }))).then(done);
  }

  /** Ends every session of the user, this one included (the caller signs in again with the new password). */
  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return this.call(
      this.api.POST('/v1/tenants/{tenantId}/me/password', { ...this.tenant, body: { currentPassword, newPassword } }),
    ).then(done);
  }

  mfaStatus(): Promise<MfaStatus> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/me/mfa', this.tenant));
  }

  startTotp(label: string): Promise<TotpSetup> {
    return this.call(
      this.api.POST('/v1/tenants/{tenantId}/me/mfa/totp', { ...this.tenant, body: label ? { label } : {} }),
    );
  }

  confirmTotp(factorId: string, code: string): Promise<{ factor: MfaFactor; recoveryCodes?: string[] }> {
    return this.call(
      this.api.POST('/v1/tenants/{tenantId}/me/mfa/totp/{factorId}/confirm', {
        ...this.path({ factorId }),
        body: { code },
      }),
    );
  }

  passkeyRegistrationOptions(): Promise<Record<string, unknown>> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/me/mfa/passkeys/options', { ...this.tenant, body: {} }));
  }

  registerPasskey(
    credential: RegisterPasskeyCredential,
    label: string,
  ): Promise<{ factor: MfaFactor; recoveryCodes?: string[] }> {
    return this.call(
      this.api.POST('/v1/tenants/{tenantId}/me/mfa/passkeys', {
        ...this.tenant,
        body: label ? { credential, label } : { credential },
      }),
    );
  }

  removeFactor(factorId: string): Promise<void> {
    return this.call(this.api.DELETE('/v1/tenants/{tenantId}/me/mfa/factors/{factorId}', this.path({ factorId }))).then(
      done,
    );
  }

  regenerateRecoveryCodes(): Promise<{ recoveryCodes: string[] }> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/me/mfa/recovery-codes', { ...this.tenant, body: {} }));
  }

  setMfaPolicy(policy: MfaPolicy): Promise<{ policy: MfaPolicy }> {
    return this.call(this.api.PUT('/v1/tenants/{tenantId}/mfa-policy', { ...this.tenant, body: { policy } }));
  }

  resetAdminUserMfa(id: string): Promise<{ factorsRemoved: number }> {
    return this.call(this.api.DELETE('/v1/tenants/{tenantId}/admin-users/{id}/mfa', this.path({ id })));
  }

  getTenant(): Promise<Tenant> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}', this.tenant));
  }

  /** Every key configuration of the tenant (a tenant has few; the list route pages, this follows every page). */
  listKeyConfigurations(): Promise<KeyConfiguration[]> {
    return this.allPages((cursor) => this.pageKeyConfigurations({ sort: 'name', limit: 200 }, cursor));
  }

  /** One page of key configurations, searched and filtered by the server. */
  pageKeyConfigurations(query: KeyConfigurationQuery, cursor?: string | null): Promise<Page<KeyConfiguration>> {
    return this.call(
      this.api.GET('/v1/tenants/{tenantId}/key-configurations', {
        params: { path: { tenantId: this.tenantId }, query: { ...wire(query), cursor: cursor ?? undefined } },
      }),
    ).then((b) => ({ items: b.keyConfigurations, next: b.next }));
  }

  getKeyConfiguration(id: string): Promise<KeyConfiguration> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/key-configurations/{id}', this.path({ id })));
  }

  registerKeyConfiguration(input: RegisterKeyConfiguration): Promise<KeyConfiguration> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/key-configurations', { ...this.tenant, body: input }));
  }

  validateKeyConfiguration(id: string): Promise<KeyConfiguration> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/key-configurations/{id}/validate', this.path({ id })));
  }

  deleteKeyConfiguration(id: string): Promise<void> {
    return this.call(this.api.DELETE('/v1/tenants/{tenantId}/key-configurations/{id}', this.path({ id }))).then(done);
  }

  /** One page of workspaces, searched, filtered and sorted by the server. */
  pageWorkspaces(query: WorkspaceQuery, cursor?: string | null): Promise<Page<Workspace>> {
    return this.call(
      this.api.GET('/v1/tenants/{tenantId}/workspaces', {
        params: { path: { tenantId: this.tenantId }, query: { ...wire(query), cursor: cursor ?? undefined } },
      }),
    ).then((b) => ({ items: b.workspaces, next: b.next }));
  }

  /** Bind, re-key or rewrap many workspaces as one tracked operation (202 with its first state). */
  startBulkOperation(request: BulkRequest): Promise<BulkOperation> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/bulk-operations', { ...this.tenant, body: request }));
  }

  getBulkOperation(id: string): Promise<BulkOperation> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/bulk-operations/{id}', this.path({ id })));
  }

  getWorkspace(id: string): Promise<Workspace> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/workspaces/{id}', this.path({ id })));
  }

  createWorkspace(name: string): Promise<Workspace> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/workspaces', { ...this.tenant, body: { name } }));
  }

  /** Destroys the workspace for good; `confirm` is its name, typed back by the admin. */
  destroyWorkspace(id: string, confirm: string): Promise<Workspace> {
    return this.call(
      this.api.DELETE('/v1/tenants/{tenantId}/workspaces/{id}', { ...this.path({ id }), body: { confirm } }),
    );
  }

  /** First binding answers the workspace (200); a re-bind answers `{operationId}` (202, a re-key). */
  async bindWorkspace(
    id: string,
    keyConfigurationId: string,
  ): Promise<{ workspace?: Workspace; operationId?: string }> {
    const body: Workspace | { operationId?: unknown } = await this.call(
      this.api.PUT('/v1/tenants/{tenantId}/workspaces/{id}/key-binding', {
        ...this.path({ id }),
        body: { keyConfigurationId },
      }),
    );
    return 'operationId' in body && typeof body.operationId === 'string'
      ? { operationId: body.operationId }
      : { workspace: body };
  }

  startOperation(id: string, kind: OperationKind): Promise<{ operationId: string }> {
    return this.call(
      this.api.POST('/v1/tenants/{tenantId}/workspaces/{id}/operations', { ...this.path({ id }), body: { kind } }),
    );
  }

  getOperation(operationId: string): Promise<Operation> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/operations/{operationId}', this.path({ operationId })));
  }

  /** One page of audit events, filtered and ordered by the server; `cursor` is the previous page's `next`. */
  listAuditEvents(query: AuditQuery, cursor?: string | null): Promise<AuditPage> {
    return this.call(
      this.api.GET('/v1/tenants/{tenantId}/audit-events', {
        params: { path: { tenantId: this.tenantId }, query: { ...wire(query), cursor: cursor ?? undefined } },
      }),
    );
  }

  verifyAuditChain(): Promise<AuditVerification> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/audit-events/verification', this.tenant));
  }

  /** The checkpoint at `seq` (the page after seq - 1), or null. */
  async auditCheckpointAt(seq: number): Promise<AuditCheckpoint | null> {
    const page = await this.call(
      this.api.GET('/v1/tenants/{tenantId}/audit-events/checkpoints', {
        params: { path: { tenantId: this.tenantId }, query: { after: Math.max(0, seq - 1), limit: 1 } },
      }),
    );
    return page.checkpoints[0]?.seq === seq ? page.checkpoints[0] : null;
  }

  createAuditCheckpoint(): Promise<{ checkpoint: AuditCheckpoint | null }> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/audit-events/checkpoints', this.tenant));
  }

  auditPublicKeys(): Promise<AuditPublicKey[]> {
    return this.call(this.api.GET('/v1/audit/public-keys')).then((b) => b.keys);
  }

  /** One page of service principals, searched and filtered by the server. */
  pageServicePrincipals(query: ServicePrincipalQuery, cursor?: string | null): Promise<Page<ServicePrincipal>> {
    return this.call(
      this.api.GET('/v1/tenants/{tenantId}/service-principals', {
        params: { path: { tenantId: this.tenantId }, query: { ...wire(query), cursor: cursor ?? undefined } },
      }),
    ).then((b) => ({ items: b.servicePrincipals, next: b.next }));
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
    return this.call(
      this.api.POST('/v1/tenants/{tenantId}/service-principals', { ...this.tenant, body: { name, workspaceIds } }),
    );
  }

  getServicePrincipal(id: string): Promise<ServicePrincipalDetail> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/service-principals/{id}', this.path({ id })));
  }

  updateServicePrincipal(id: string, change: ServicePrincipalChange): Promise<ServicePrincipalDetail> {
    return this.call(
      this.api.PATCH('/v1/tenants/{tenantId}/service-principals/{id}', { ...this.path({ id }), body: change }),
    );
  }

  deleteServicePrincipal(id: string): Promise<void> {
    return this.call(this.api.DELETE('/v1/tenants/{tenantId}/service-principals/{id}', this.path({ id }))).then(done);
  }

  rotateServicePrincipalSecret(id: string, overlapSeconds: number): Promise<RotatedSecret> {
    return this.call(
      this.api.POST('/v1/tenants/{tenantId}/service-principals/{id}/secrets', {
        ...this.path({ id }),
        body: { overlapSeconds },
      }),
    );
  }

  revokeServicePrincipalSecret(id: string, secretId: string): Promise<void> {
    return this.call(
      this.api.DELETE('/v1/tenants/{tenantId}/service-principals/{id}/secrets/{secretId}', this.path({ id, secretId })),
    ).then(done);
  }

  /** The workspace's operations, newest first; `filter` narrows by kind and state, `cursor` continues a page. */
  listWorkspaceOperations(
    id: string,
    filter: { kind?: string; state?: string; cursor?: string | null; limit?: number } = {},
  ): Promise<OperationHistoryPage> {
    const query = {
      limit: filter.limit ?? 10,
      ...(filter.kind ? { kind: filter.kind } : {}),
      ...(filter.state ? { state: filter.state } : {}),
      ...(filter.cursor ? { cursor: filter.cursor } : {}),
    };
    return this.call(
      this.api.GET('/v1/tenants/{tenantId}/workspaces/{id}/operations', {
        params: { path: { tenantId: this.tenantId, id }, query },
      }),
    );
  }

  listSiemDestinations(): Promise<SiemDestination[]> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/siem-destinations', this.tenant)).then((b) => b.destinations);
  }

  createSiemDestination(input: {
    name: string;
    kind: SiemKind;
    format: SiemFormat;
    url: string;
    token?: string;
  }): Promise<SiemDestinationWithSecret> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/siem-destinations', { ...this.tenant, body: input }));
  }

  rotateSiemSecret(
    id: string,
    change: { token?: string; overlapSeconds?: number } = {},
  ): Promise<SiemDestinationWithSecret> {
    return this.call(
      this.api.POST('/v1/tenants/{tenantId}/siem-destinations/{id}/secret', {
        ...this.path({ id }),
        body: {
          overlapSeconds: change.overlapSeconds ?? 0,
          ...(change.token === undefined ? {} : { token: change.token }),
        },
      }),
    );
  }

  retrySiemDestination(id: string): Promise<{ destination: SiemDestination }> {
    return this.call(this.api.POST('/v1/tenants/{tenantId}/siem-destinations/{id}/retry', this.path({ id })));
  }

  deleteSiemDestination(id: string): Promise<void> {
    return this.call(this.api.DELETE('/v1/tenants/{tenantId}/siem-destinations/{id}', this.path({ id }))).then(done);
  }

  /** Key use by reason over time, for the tenant or one workspace. */
  getKeyUse(q: { workspaceId?: string; bucket: KeyUseBucket; from?: string; to?: string }): Promise<KeyUseByReason> {
    return this.call(
      this.api.GET('/v1/tenants/{tenantId}/key-use', { params: { path: { tenantId: this.tenantId }, query: q } }),
    );
  }

  getWorkspaceReasonPolicy(workspaceId: string): Promise<WorkspaceReasonPolicy> {
    return this.call(
      this.api.GET('/v1/tenants/{tenantId}/workspaces/{id}/access-reason-policy', this.path({ id: workspaceId })),
    );
  }

  setWorkspaceReasonPolicy(
    workspaceId: string,
    policy: { deniedReasons: AccessReason[]; requireReason: boolean },
  ): Promise<WorkspaceReasonPolicy> {
    return this.call(
      this.api.PUT('/v1/tenants/{tenantId}/workspaces/{id}/access-reason-policy', {
        ...this.path({ id: workspaceId }),
        body: policy,
      }),
    );
  }

  getPrincipalReasons(id: string): Promise<PrincipalReasons> {
    return this.call(this.api.GET('/v1/tenants/{tenantId}/service-principals/{id}/access-reasons', this.path({ id })));
  }

  setPrincipalReasons(id: string, allowedReasons: AccessReason[]): Promise<PrincipalReasons> {
    return this.call(
      this.api.PUT('/v1/tenants/{tenantId}/service-principals/{id}/access-reasons', {
        ...this.path({ id }),
        body: { allowedReasons },
      }),
    );
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

/** The browser's registration credential as JSON (@simplewebauthn/browser), as the API's schema describes it. */
export type RegisterPasskeyCredential = paths['/v1/tenants/{tenantId}/me/mfa/passkeys']['post']['requestBody'] extends
  { content: { 'application/json': { credential: infer C } } } | undefined
  ? C
  : never;

/**
 * A list query as the wire takes it: several values comma-joined, booleans as true/false (the server's list
 * validators parse both forms).
 */
type Wire<Q> = {
  [K in keyof Q]: NonNullable<Q[K]> extends readonly unknown[]
    ? string
    : NonNullable<Q[K]> extends boolean
      ? 'true' | 'false'
      : Q[K];
};

function wire<Q extends object>(query: Q): Wire<Q> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query) as Array<[string, unknown]>) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = Array.isArray(v) ? v.join(',') : typeof v === 'boolean' ? String(v) : v;
  }
  return out as Wire<Q>;
}
