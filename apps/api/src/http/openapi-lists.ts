import { op, pathParam, ref, tenantParam } from './openapi';

/**
 * OpenAPI of the paged lists (workspaces, key configurations, service principals; the operations history uses the
 * same paging parameters) and of the bulk operations. The helpers of openapi.ts are used only when the document is
 * built (this module is loaded while openapi.ts is).
 */
const q = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({ name, in: 'query', description, schema });

/** The paging parameters every list route takes. */
export const pagingParams = (sorts: string[], defaultOrder: 'asc' | 'desc' = 'asc') => [
  ...(sorts.length > 1
    ? [
        q('sort', 'sort key', { type: 'string', enum: sorts, default: sorts[0] }),
        q('order', 'sort order', { type: 'string', enum: ['asc', 'desc'], default: defaultOrder }),
      ]
    : []),
  q('cursor', "the previous page's `next`, opaque; valid only with the same sort and filters (400 INVALID_CURSOR otherwise)", { type: 'string', maxLength: 1024 }),
  q('limit', 'page size', { type: 'integer', minimum: 1, maximum: 200, default: 50 }),
];

const search = q('q', 'case-insensitive substring of the name', { type: 'string', maxLength: 100 });
const page = (name: string, item: string) => ({
  type: 'object',
  required: [name, 'next'],
  properties: { [name]: { type: 'array', items: ref(item) }, next: { type: ['string', 'null'], description: 'cursor of the next page; null on the last' } },
});

export function listPaths() {
  return {
    workspaces: op({
      id: 'listWorkspaces',
      summary: 'One page of workspaces: search by name, filter by key state, key configuration and degraded, sort by creation or name',
      security: 'auditor',
      params: [
        tenantParam,
        search,
        q('keyState', 'comma-separated key states'),
        q('keyConfigurationId', 'only workspaces bound to this configuration (404 if it is not the tenant’s)', { type: 'string', format: 'uuid' }),
        q('degraded', 'true or false', { type: 'string', enum: ['true', 'false'] }),
        q('id', 'only these workspaces: comma-separated ids, at most 200'),
        ...pagingParams(['createdAt', 'name']),
      ],
      ok: [200, ref('WorkspacePage')],
      errors: [400, 401, 403, 404],
    }),
    keyConfigurations: op({
      id: 'listKeyConfigurations',
      summary: 'One page of key configurations: search by name, filter by provider and status',
      security: 'auditor',
      params: [tenantParam, search, q('provider', 'comma-separated: aws, azure, gcp'), q('status', 'comma-separated: valid, invalid'), ...pagingParams(['createdAt', 'name'])],
      ok: [200, ref('KeyConfigurationPage')],
      errors: [400, 401, 403, 404],
    }),
    servicePrincipals: op({
      id: 'listServicePrincipals',
      summary: 'One page of service principals with their workspace scope (never a secret or its hash): search by name, filter by disabled',
      security: 'auditor',
      params: [tenantParam, search, q('disabled', 'true or false', { type: 'string', enum: ['true', 'false'] }), ...pagingParams(['createdAt', 'name'])],
      ok: [200, ref('ServicePrincipalList')],
      errors: [400, 401, 403, 404],
    }),
  };
}

export const bulkPaths = () => ({
  '/v1/tenants/{tenantId}/bulk-operations': {
    post: op({
      id: 'startBulkOperation',
      summary:
        'Bind or re-key a selection of workspaces, or rewrap every workspace of a configuration, as one tracked operation (at most 1000 workspaces: 400 BULK_SELECTION_TOO_LARGE)',
      security: 'admin',
      params: [tenantParam],
      body: ref('BulkOperationRequest'),
      ok: [202, ref('BulkOperation')],
      errors: [400, 401, 403, 404, 409, 415],
    }),
  },
  '/v1/tenants/{tenantId}/bulk-operations/{id}': {
    get: op({ id: 'getBulkOperation', summary: "A bulk operation's progress and each workspace's outcome", security: 'auditor', params: [tenantParam, pathParam('id')], ok: [200, ref('BulkOperation')], errors: [401, 403, 404] }),
  },
});

const uuid = { type: 'string', format: 'uuid' };
const state = { type: 'string', enum: ['pending', 'running', 'succeeded', 'failed'] };

export const listSchemas = () => ({
  WorkspacePage: page('workspaces', 'Workspace'),
  KeyConfigurationPage: page('keyConfigurations', 'KeyConfiguration'),
  ServicePrincipalList: page('servicePrincipals', 'ServicePrincipal'),
  BulkOperationRequest: {
    oneOf: [
      {
        type: 'object',
        required: ['action', 'keyConfigurationId', 'workspaceIds'],
        additionalProperties: false,
        properties: { action: { type: 'string', enum: ['bind', 'rekey'] }, keyConfigurationId: uuid, workspaceIds: { type: 'array', items: uuid, minItems: 1, maxItems: 1000 } },
      },
      { type: 'object', required: ['action', 'keyConfigurationId'], additionalProperties: false, properties: { action: { const: 'rewrap' }, keyConfigurationId: uuid } },
    ],
  },
  BulkOperation: {
    type: 'object',
    required: ['id', 'kind', 'action', 'state', 'progress', 'counts', 'items'],
    properties: {
      id: uuid,
      kind: { const: 'bulk' },
      action: { type: 'string', enum: ['bind', 'rekey', 'rewrap'] },
      keyConfigurationId: uuid,
      requestedBy: { type: 'string' },
      createdAt: { type: 'string', format: 'date-time' },
      state: { type: 'string', enum: ['running', 'succeeded', 'failed'], description: 'failed once every item ended and at least one failed' },
      progress: { type: 'object', properties: { done: { type: 'integer' }, total: { type: 'integer' } } },
      counts: { type: 'object', properties: { pending: { type: 'integer' }, running: { type: 'integer' }, succeeded: { type: 'integer' }, failed: { type: 'integer' } } },
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['workspaceId', 'state'],
          properties: {
            workspaceId: uuid,
            workspaceName: { type: ['string', 'null'] },
            state,
            operationId: { type: ['string', 'null'], format: 'uuid', description: 'the re-key or CMK rewrap operation this workspace became' },
            error: { oneOf: [{ type: 'null' }, { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } }] },
          },
        },
      },
    },
  },
});
