import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { bulkBody } from '../controllers/bulk-operations.controller';
import { listQueries } from '../list-queries';
import { path, routes } from './kit';
import { KeyConfiguration, ServicePrincipalList, Workspace } from './responses';

/**
 * The paged lists (workspaces, key configurations, service principals) and the bulk operations over their
 * selections. The list queries are the controllers' own validators (list-queries.ts): filters, sort, order, an
 * opaque cursor bound to them (400 INVALID_CURSOR when replayed with others) and a bounded limit.
 */
const TEXT_lists = {
  400: 'malformed or invalid request (code names the problem: VALIDATION_FAILED, INVALID_CURSOR, BULK_SELECTION_TOO_LARGE)',
  401: 'missing or invalid token',
  403: 'role not allowed (separation of duties)',
  404: 'not found (also: another tenant, a key configuration of another tenant)',
  409: 'conflict with the current state',
  415: 'content type not application/json',
};

const next = z.string().nullable().describe('cursor of the next page; null on the last');
const WorkspacePage = z.object({ workspaces: z.array(Workspace), next }).openapi('WorkspacePage');
const KeyConfigurationPage = z
  .object({ keyConfigurations: z.array(KeyConfiguration), next })
  .openapi('KeyConfigurationPage');

const uuid = z.string().uuid();
const itemState = z.enum(['pending', 'running', 'succeeded', 'failed']);
const BulkOperationRequest = bulkBody.openapi('BulkOperationRequest', {
  description: 'bind or rekey a listed selection (at most 1000), or rewrap every workspace of a configuration',
});
const BulkOperation = z
  .object({
    id: uuid,
    kind: z.literal('bulk'),
    action: z.enum(['bind', 'rekey', 'rewrap']),
    keyConfigurationId: uuid,
    requestedBy: z.string(),
    createdAt: z.string().datetime(),
    state: z.enum(['running', 'succeeded', 'failed']).describe('failed once every item ended and at least one failed'),
    progress: z.object({ done: z.number().int(), total: z.number().int() }),
    counts: z.object({
      pending: z.number().int(),
      running: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
    }),
    items: z.array(
      z.object({
        workspaceId: uuid,
        workspaceName: z.string().nullable(),
        state: itemState,
        operationId: uuid.nullable().describe('the re-key or CMK rewrap operation this workspace became'),
        error: z.object({ code: z.string(), message: z.string() }).nullable(),
      }),
    ),
  })
  .openapi('BulkOperation');

export function listRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_lists);
  route('get', '/v1/tenants/{tenantId}/workspaces', {
    id: 'listWorkspaces',
    summary:
      'One page of workspaces: search by name, filter by key state, key configuration and degraded, sort by creation or name',
    access: 'readers',
    params: path('tenantId'),
    query: listQueries.workspaces,
    ok: [200, WorkspacePage],
    errors: [400, 401, 403, 404],
  });
  route('get', '/v1/tenants/{tenantId}/key-configurations', {
    id: 'listKeyConfigurations',
    summary: 'One page of key configurations: search by name, filter by provider and status',
    access: 'readers',
    params: path('tenantId'),
    query: listQueries.keyConfigurations,
    ok: [200, KeyConfigurationPage],
    errors: [400, 401, 403, 404],
  });
  route('get', '/v1/tenants/{tenantId}/service-principals', {
    id: 'listServicePrincipals',
    summary:
      'One page of service principals with their workspace scope (never a secret or its hash): search by name, filter by disabled',
    access: 'readers',
    params: path('tenantId'),
    query: listQueries.servicePrincipals,
    ok: [200, ServicePrincipalList],
    errors: [400, 401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/bulk-operations', {
    id: 'startBulkOperation',
    summary:
      'Bind or re-key a selection of workspaces, or rewrap every workspace of a configuration, as one tracked operation (at most 1000 workspaces: 400 BULK_SELECTION_TOO_LARGE)',
    access: 'key_admin',
    params: path('tenantId'),
    body: BulkOperationRequest,
    ok: [202, BulkOperation],
    errors: [400, 401, 403, 404, 409, 415],
  });
  route('get', '/v1/tenants/{tenantId}/bulk-operations/{id}', {
    id: 'getBulkOperation',
    summary: "A bulk operation's progress and each workspace's outcome",
    access: 'readers',
    params: path('tenantId', 'id'),
    ok: [200, BulkOperation],
    errors: [401, 403, 404],
  });
}
