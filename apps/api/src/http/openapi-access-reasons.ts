import { ACCESS_REASONS } from '@app/keys';
import { op, pathParam, ref, tenantParam } from './openapi';

/**
 * OpenAPI of key access justifications: the DEK requests' reason headers, a workspace's reason policy, a service
 * principal's allowed reasons, and key use by reason. Functions, not constants: openapi.ts imports this module and
 * calls them while building the document.
 */
const reasonEnum = () => ({ type: 'string', enum: [...ACCESS_REASONS] });

/** Header parameters of the internal DEK fetch and batch routes. */
export function reasonHeaderParams() {
  return [
    {
      name: 'Keyhold-Access-Reason',
      in: 'header',
      required: false,
      description:
        "Why the DEK is asked for. Unknown values answer 400 INVALID_ACCESS_REASON; a reason outside the principal's allowed reasons or refused by the workspace's policy answers 403 REASON_DENIED; none given where the policy requires one answers 403 REASON_REQUIRED. Counted per (principal, workspace, reason, minute) in the tenant's audit log.",
      schema: reasonEnum(),
    },
    {
      name: 'Keyhold-Access-Ticket',
      in: 'header',
      required: false,
      description: 'A ticket reference in the caller\'s system (needs a reason; recorded in the audit log only). Malformed: 400 INVALID_ACCESS_TICKET.',
      schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$' },
    },
  ];
}

export function accessReasonPaths() {
  return {
    '/v1/tenants/{tenantId}/workspaces/{id}/access-reason-policy': {
      get: op({
        id: 'getWorkspaceAccessReasonPolicy',
        summary: "The workspace's access-reason policy (reasons refused, whether a reason is required)",
        security: 'auditor',
        params: [tenantParam, pathParam('id')],
        ok: [200, ref('WorkspaceAccessReasonPolicy')],
        errors: [401, 403, 404],
      }),
      put: op({
        id: 'setWorkspaceAccessReasonPolicy',
        summary: "Set the workspace's access-reason policy (key admin; audited with the change; every replica applies it at once)",
        security: 'admin',
        params: [tenantParam, pathParam('id')],
        body: ref('WorkspaceAccessReasonPolicyInput'),
        ok: [200, ref('WorkspaceAccessReasonPolicy')],
        errors: [400, 401, 403, 404, 415],
      }),
    },
    '/v1/tenants/{tenantId}/service-principals/{id}/access-reasons': {
      get: op({
        id: 'getServicePrincipalAccessReasons',
        summary: 'The reasons a service principal may give (default: all but VENDOR_SUPPORT and EMERGENCY)',
        security: 'auditor',
        params: [tenantParam, pathParam('id')],
        ok: [200, ref('ServicePrincipalAccessReasons')],
        errors: [401, 403, 404],
      }),
      put: op({
        id: 'setServicePrincipalAccessReasons',
        summary: 'Set the reasons a service principal may give (key admin; audited with the change)',
        security: 'admin',
        params: [tenantParam, pathParam('id')],
        body: ref('ServicePrincipalAccessReasonsInput'),
        ok: [200, ref('ServicePrincipalAccessReasons')],
        errors: [400, 401, 403, 404, 415],
      }),
    },
    '/v1/tenants/{tenantId}/key-use': {
      get: op({
        id: 'getKeyUseByReason',
        summary: 'DEKs issued and requests refused, by reason over time, for the tenant or one workspace',
        security: 'auditor',
        params: [
          tenantParam,
          { name: 'workspaceId', in: 'query', schema: { type: 'string', format: 'uuid' } },
          { name: 'from', in: 'query', description: 'start (ISO 8601); default: one hour, day or 30 days before `to` by bucket', schema: { type: 'string', format: 'date-time' } },
          { name: 'to', in: 'query', description: 'end, exclusive (ISO 8601); default now', schema: { type: 'string', format: 'date-time' } },
          { name: 'bucket', in: 'query', description: 'minute (at most 1 day), hour (62 days), day (366 days)', schema: { type: 'string', enum: ['minute', 'hour', 'day'], default: 'hour' } },
        ],
        ok: [200, ref('KeyUseByReason')],
        errors: [400, 401, 403, 404],
      }),
    },
  };
}

export function accessReasonSchemas() {
  const reasons = { type: 'array', items: reasonEnum(), maxItems: ACCESS_REASONS.length };
  return {
    WorkspaceAccessReasonPolicyInput: {
      type: 'object',
      required: ['deniedReasons', 'requireReason'],
      additionalProperties: false,
      properties: { deniedReasons: reasons, requireReason: { type: 'boolean' } },
    },
    WorkspaceAccessReasonPolicy: {
      type: 'object',
      required: ['workspaceId', 'deniedReasons', 'requireReason'],
      properties: { workspaceId: { type: 'string', format: 'uuid' }, deniedReasons: reasons, requireReason: { type: 'boolean' } },
    },
    ServicePrincipalAccessReasonsInput: { type: 'object', required: ['allowedReasons'], additionalProperties: false, properties: { allowedReasons: reasons } },
    ServicePrincipalAccessReasons: { type: 'object', required: ['id', 'allowedReasons'], properties: { id: { type: 'string', format: 'uuid' }, allowedReasons: reasons } },
    KeyUseByReason: {
      type: 'object',
      required: ['workspaceId', 'bucket', 'from', 'to', 'reasons', 'points'],
      properties: {
        workspaceId: { type: ['string', 'null'], format: 'uuid' },
        bucket: { type: 'string', enum: ['minute', 'hour', 'day'] },
        from: { type: 'string', format: 'date-time' },
        to: { type: 'string', format: 'date-time' },
        reasons: { type: 'array', items: { type: 'string' }, description: 'NONE (no reason given), then every reason' },
        points: {
          type: 'array',
          items: {
            type: 'object',
            required: ['at', 'reason', 'issued', 'denied'],
            properties: {
              at: { type: 'string', format: 'date-time', description: 'start of the bucket (UTC)' },
              reason: { type: 'string' },
              issued: { type: 'integer', minimum: 0 },
              denied: { type: 'integer', minimum: 0 },
            },
          },
        },
      },
    },
  };
}
