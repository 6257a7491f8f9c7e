import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { path, routes } from './kit';
import { AccessReasonHeaders } from './routes-access-reasons';
import {
  BatchGet,
  Binding,
  CreateServicePrincipal,
  CreateTenant,
  CreateWorkspace,
  DestroyWorkspace,
  OperationRequest,
  RegisterKeyConfiguration,
  ServicePrincipalPermissions,
  TokenRequest,
  auditQuery,
  operationHistoryQuery,
} from './requests';
import {
  AuditPage,
  AuditVerification,
  Dek,
  DekBatch,
  KeyConfiguration,
  Operation,
  OperationAccepted,
  OperationHistoryPage,
  Permissions,
  ServicePrincipalCreated,
  Tenant,
  TenantCreated,
  TokenResponse,
  VendorCanary,
  Workspace,
} from './responses';

const TEXT_main = {
  400: 'malformed or invalid request (code names the problem)',
  401: 'missing or invalid token',
  403: 'role or permission not allowed (separation of duties); on DEK requests also a refused access reason (REASON_DENIED, REASON_REQUIRED)',
  404: 'not found (also: another tenant, outside scope, malformed id)',
  409: 'conflict with the current state',
  410: 'workspace keys shredded (WORKSPACE_SHREDDED), workspace destroyed (WORKSPACE_DESTROYED) or segment destroyed (SEGMENT_DESTROYED)',
  413: 'body too large',
  415: 'body must be application/json',
  429: 'rate limited or DEK quota reached (RATE_LIMITED, DEK_CREATE_RATE_LIMITED, DEK_QUOTA_EXCEEDED; Retry-After)',
  503: 'customer KMS unreachable and nothing cached (KMS_UNAVAILABLE), or the KEK reached its wrap limit and is being rotated (KEK_WRAP_LIMIT); Retry-After',
};

const TEXT_events = {
  401: 'missing or invalid token',
  429: 'too many streams for this principal (TOO_MANY_STREAMS, Retry-After)',
  503: 'too many streams on this replica (TOO_MANY_STREAMS, Retry-After)',
};

const TEXT_platform = {
  401: 'missing or invalid operator token',
};

export function tenantRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_main);
  const events = routes(registry, TEXT_events);
  const platform = routes(registry, TEXT_platform);
  route('post', '/v1/tenants', {
    id: 'createTenant',
    summary:
      'Create a tenant and email its first key admin a one-time invitation (platform operator; the answer never carries the link, a password is refused: PASSWORD_NOT_ACCEPTED)',
    access: 'operator',
    body: CreateTenant,
    ok: [201, TenantCreated],
    errors: [400, 401, 413, 415, 503],
  });
  route('post', '/v1/auth/token', {
    id: 'issueToken',
    summary:
      'Issue an access token (password or client_credentials grant; on the internal listener client_credentials only)',
    access: 'public',
    body: TokenRequest,
    ok: [200, TokenResponse],
    errors: [400, 401, 413, 415, 429],
  });
  route('get', '/v1/tenants/{tenantId}', {
    id: 'getTenant',
    summary: 'Tenant with the identities a customer must trust',
    access: 'readers',
    params: path('tenantId'),
    ok: [200, Tenant],
    errors: [401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/key-configurations', {
    id: 'registerKeyConfiguration',
    summary: 'Register and validate a customer key',
    access: 'key_admin',
    params: path('tenantId'),
    body: RegisterKeyConfiguration,
    ok: [201, KeyConfiguration],
    errors: [400, 401, 403, 404, 409, 415],
  });
  route('get', '/v1/tenants/{tenantId}/key-configurations/{id}', {
    id: 'getKeyConfiguration',
    summary: 'One key configuration',
    access: 'readers',
    params: path('tenantId', 'id'),
    ok: [200, KeyConfiguration],
    errors: [401, 403, 404],
  });
  route('delete', '/v1/tenants/{tenantId}/key-configurations/{id}', {
    id: 'deleteKeyConfiguration',
    summary: 'Delete (409 while bound)',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    ok: [204, null],
    errors: [401, 403, 404, 409],
  });
  route('post', '/v1/tenants/{tenantId}/key-configurations/{id}/validate', {
    id: 'validateKeyConfiguration',
    summary: 'Validate again',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    ok: [200, KeyConfiguration],
    errors: [401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/workspaces', {
    id: 'createWorkspace',
    summary: 'Create a workspace (unbound)',
    access: 'key_admin',
    params: path('tenantId'),
    body: CreateWorkspace,
    ok: [201, Workspace],
    errors: [400, 401, 403, 404, 415],
  });
  route('get', '/v1/tenants/{tenantId}/workspaces/{id}', {
    id: 'getWorkspace',
    summary: 'Workspace key status',
    access: 'readers',
    params: path('tenantId', 'id'),
    ok: [200, Workspace],
    errors: [401, 403, 404],
  });
  route('put', '/v1/tenants/{tenantId}/workspaces/{id}/key-binding', {
    id: 'bindWorkspace',
    summary: 'Bind to a key configuration (first bind: 200 active; re-bind: 202 rekey operation)',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: Binding,
    ok: [200, Workspace],
    errors: [400, 401, 403, 404, 409, 415, 422, 503],
  });
  route('post', '/v1/tenants/{tenantId}/workspaces/{id}/operations', {
    id: 'requestOperation',
    summary: 'Request cmk-rewrap, kek-rotation, revocation-check or reinstate',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: OperationRequest,
    ok: [202, OperationAccepted],
    errors: [400, 401, 403, 404, 409, 415],
  });
  route('get', '/v1/tenants/{tenantId}/operations/{operationId}', {
    id: 'getOperation',
    summary: 'Operation state and progress',
    access: 'readers',
    params: path('tenantId', 'operationId'),
    ok: [200, Operation],
    errors: [401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/service-principals', {
    id: 'createServicePrincipal',
    summary: 'Create a service principal (secret shown once)',
    access: 'key_admin',
    params: path('tenantId'),
    body: CreateServicePrincipal,
    ok: [201, ServicePrincipalCreated],
    errors: [400, 401, 403, 404, 415],
  });
  route('get', '/v1/tenants/{tenantId}/audit-events', {
    id: 'listAuditEvents',
    summary: 'Audit log page: filter by action or action prefix, actor, workspace and time; oldest or newest first',
    access: 'readers',
    params: path('tenantId'),
    query: auditQuery,
    ok: [200, AuditPage],
    errors: [400, 401, 403, 404],
  });
  route('get', '/v1/tenants/{tenantId}/audit-events/verification', {
    id: 'verifyAuditChain',
    summary: 'Verify the chain, its MACs, the head and every signed checkpoint',
    access: 'readers',
    params: path('tenantId'),
    ok: [200, AuditVerification],
    errors: [401, 403, 404],
  });
  route('get', '/v1/tenants/{tenantId}/audit-events/export', {
    id: 'exportAuditEvents',
    summary: 'Audit log as JSON lines (the input of keyhold-audit-verify)',
    access: 'readers',
    params: path('tenantId'),
    ok: [200, null],
    errors: [401, 403, 404],
  });
  route('get', '/internal/v1/workspaces/{workspaceId}/segments/{segmentId}/dek', {
    id: 'getDek',
    summary: "Get or create a segment's DEK",
    access: 'service',
    params: path('workspaceId', 'segmentId'),
    headers: AccessReasonHeaders,
    ok: [200, Dek],
    errors: [400, 401, 403, 404, 409, 410, 429, 503],
  });
  route('post', '/internal/v1/workspaces/{workspaceId}/deks:batchGet', {
    id: 'batchGetDeks',
    summary: 'Get or create up to 1000 DEKs',
    access: 'service',
    params: path('workspaceId'),
    headers: AccessReasonHeaders,
    body: BatchGet,
    ok: [200, DekBatch],
    errors: [400, 401, 403, 404, 409, 410, 413, 415, 429, 503],
  });
  route('get', '/healthz', {
    id: 'healthz',
    summary: 'Process alive',
    access: 'public',
    ok: [200, z.record(z.unknown())],
  });
  route('get', '/readyz', {
    id: 'readyz',
    summary: 'Postgres and Redis reachable',
    access: 'public',
    ok: [200, z.record(z.unknown())],
    errors: [503],
  });
  route('get', '/metrics', {
    id: 'metrics',
    summary: 'Prometheus metrics (internal listener only)',
    access: 'public',
    ok: [200, null],
  });
  route('get', '/openapi.json', {
    id: 'openapi',
    summary: 'This document',
    access: 'public',
    ok: [200, z.record(z.unknown())],
  });
  route('delete', '/v1/tenants/{tenantId}/workspaces/{id}', {
    id: 'destroyWorkspace',
    summary: 'Destroy the workspace for good: every KEK and DEK row deleted; body {"confirm": "<workspace name>"}',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: DestroyWorkspace,
    ok: [200, Workspace, 'destroyed (keyState "destroyed"); DEK requests for it answer 410 WORKSPACE_DESTROYED'],
    errors: [400, 401, 403, 404, 410, 415],
  });
  route('get', '/v1/tenants/{tenantId}/workspaces/{id}/operations', {
    id: 'listWorkspaceOperations',
    summary: "The workspace's operations, newest first (filter by kind and state; cursor-paged)",
    access: 'readers',
    params: path('tenantId', 'id'),
    query: operationHistoryQuery,
    ok: [200, OperationHistoryPage],
    errors: [400, 401, 403, 404],
  });
  route('get', '/v1/tenants/{tenantId}/operations', {
    id: 'listOperations',
    summary: "The tenant's operations, newest first (filter by kind and state; cursor-paged)",
    access: 'readers',
    params: path('tenantId'),
    query: operationHistoryQuery,
    ok: [200, OperationHistoryPage],
    errors: [400, 401, 403, 404],
  });
  route('delete', '/internal/v1/workspaces/{workspaceId}/segments/{segmentId}/dek', {
    id: 'destroyDek',
    summary: "Destroy a segment's DEK for good (service principal with dek:destroy); afterwards 410 SEGMENT_DESTROYED",
    access: 'service',
    params: path('workspaceId', 'segmentId'),
    ok: [204, null],
    errors: [400, 401, 403, 404],
  });
  route('delete', '/v1/tenants/{tenantId}/workspaces/{id}/segments/{segmentId}', {
    id: 'destroySegment',
    summary: "Destroy a segment's DEK for good (key admin); the id is never issued again",
    access: 'key_admin',
    params: path('tenantId', 'id', 'segmentId'),
    ok: [204, null],
    errors: [400, 401, 403, 404],
  });
  route('put', '/v1/tenants/{tenantId}/service-principals/{id}/permissions', {
    id: 'setServicePrincipalPermissions',
    summary: 'Set what a service principal may do (dek:fetch always; dek:destroy on request)',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: ServicePrincipalPermissions,
    ok: [200, z.object({ id: z.string().uuid(), permissions: Permissions })],
    errors: [400, 401, 403, 404, 415],
  });
  events('get', '/internal/v1/events', {
    id: 'streamKeyEvents',
    summary: "Server-sent key events (shred, destroy, rotation) for the principal's workspaces",
    description:
      'text/event-stream. First `event: ready`, then one event per key change of a workspace in the caller\'s scope: `event: shred|destroy|invalidate|…` with `data: {"workspaceId","at"}`. Comment lines keep the stream alive; it ends when the token expires, and a client that does not read is disconnected. A client drops its cached DEKs of the workspace on each event, and all of them after a reconnect.',
    access: 'service',
    ok: [200, 'event-stream', 'the event stream'],
    errors: [401, 429, 503],
  });
  platform('get', '/v1/platform/vendor-canaries', {
    id: 'listVendorCanaries',
    summary: 'Vendor-owned canary per cloud: while one fails, customer revocation verdicts on that cloud are held',
    access: 'operator',
    ok: [200, z.object({ canaries: z.array(VendorCanary) })],
    errors: [401],
  });
}
