import { op, pathParam, ref } from './openapi';

/**
 * OpenAPI paths of segment-level crypto-shred and service principal permissions (spread into openapi.ts).
 * Functions, not constants: openapi.ts imports this module and calls them while building the document.
 */
const segmentParam = () => pathParam('segmentId', { type: 'string', minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' });

/** DELETE on the internal DEK path (the GET is in openapi.ts). */
export function destroyDekOperation() {
  return op({
    id: 'destroyDek',
    summary: "Destroy a segment's DEK for good (service principal with dek:destroy); afterwards 410 SEGMENT_DESTROYED",
    security: 'service',
    params: [pathParam('workspaceId'), segmentParam()],
    ok: [204, null],
    errors: [400, 401, 403, 404],
  });
}

export function segmentPaths() {
  return {
    '/v1/tenants/{tenantId}/workspaces/{id}/segments/{segmentId}': {
      delete: op({
        id: 'destroySegment',
        summary: "Destroy a segment's DEK for good (key admin); the id is never issued again",
        security: 'admin',
        params: [pathParam('tenantId'), pathParam('id'), segmentParam()],
        ok: [204, null],
        errors: [400, 401, 403, 404],
      }),
    },
    '/v1/tenants/{tenantId}/service-principals/{id}/permissions': {
      put: op({
        id: 'setServicePrincipalPermissions',
        summary: 'Set what a service principal may do (dek:fetch always; dek:destroy on request)',
        security: 'admin',
        params: [pathParam('tenantId'), pathParam('id')],
        body: ref('ServicePrincipalPermissions'),
        ok: [200, { type: 'object', required: ['id', 'permissions'], properties: { id: { type: 'string', format: 'uuid' }, permissions: ref('Permissions') } }],
        errors: [400, 401, 403, 404, 415],
      }),
    },
  };
}
