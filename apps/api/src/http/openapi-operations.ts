import { op, pathParam, ref, tenantParam } from './openapi';
import { pagingParams } from './openapi-lists';

/**
 * OpenAPI of the operations history (GET …/operations, GET …/workspaces/{id}/operations). The helpers of openapi.ts
 * are used only when the document is built (this module is loaded while openapi.ts is).
 */
const filters = [
  { name: 'kind', in: 'query', description: 'comma-separated kinds', schema: { type: 'string', examples: ['kek-rotation,cmk-rewrap'] } },
  { name: 'state', in: 'query', description: 'comma-separated states (queued, running, succeeded, failed)', schema: { type: 'string' } },
  ...pagingParams([], 'desc'),
];

export function operationHistoryGet(workspace: boolean) {
  return op({
    id: workspace ? 'listWorkspaceOperations' : 'listOperations',
    summary: workspace ? "The workspace's operations, newest first (filter by kind and state; cursor-paged)" : "The tenant's operations, newest first (filter by kind and state; cursor-paged)",
    security: 'auditor',
    params: workspace ? [tenantParam, pathParam('id'), ...filters] : [tenantParam, ...filters],
    ok: [200, ref('OperationHistoryPage')],
    errors: [400, 401, 403, 404],
  });
}

export const operationHistorySchemas = {
  OperationHistoryPage: {
    type: 'object',
    required: ['operations', 'next'],
    properties: {
      operations: {
        type: 'array',
        items: {
          allOf: [
            { $ref: '#/components/schemas/Operation' },
            { type: 'object', properties: { requestedBy: { type: ['string', 'null'] }, startedAt: { type: ['string', 'null'], format: 'date-time' } } },
          ],
        },
      },
      next: { type: ['string', 'null'], description: 'cursor of the next page; null on the last' },
    },
  },
};
