import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { ACCESS_REASONS } from '@app/keys';
import { z } from 'zod';
import { accessReasonSchemas } from '../access-reasons.schemas';
import { path, routes } from './kit';

/**
 * Key access justifications in the contract: the DEK requests' reason headers, a workspace's reason policy, a
 * service principal's allowed reasons, and key use by reason over time.
 */
const TEXT_reasons = {
  400: 'malformed or invalid request (code names the problem)',
  401: 'missing or invalid token',
  403: 'role not allowed (separation of duties)',
  404: 'not found (also: another tenant, outside scope, malformed id)',
  415: 'content type not application/json',
};

const reason = z.enum(ACCESS_REASONS);
const reasons = z.array(reason).max(ACCESS_REASONS.length);

/** Header parameters of the internal DEK fetch and batch routes (dek-routes parses them by hand on the hot path). */
export const AccessReasonHeaders = z.object({
  'keyhold-access-reason': reason
    .optional()
    .describe(
      "Keyhold-Access-Reason: why the DEK is asked for. Unknown values answer 400 INVALID_ACCESS_REASON; a reason outside the principal's allowed reasons or refused by the workspace's policy answers 403 REASON_DENIED; none given where the policy requires one answers 403 REASON_REQUIRED. Counted per (principal, workspace, reason, minute) in the tenant's audit log.",
    ),
  'keyhold-access-ticket': z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/)
    .optional()
    .describe(
      "Keyhold-Access-Ticket: a ticket reference in the caller's system (needs a reason; recorded in the audit log only). Malformed: 400 INVALID_ACCESS_TICKET.",
    ),
});

const WorkspaceAccessReasonPolicyInput = accessReasonSchemas.workspacePolicy.openapi(
  'WorkspaceAccessReasonPolicyInput',
);
const ServicePrincipalAccessReasonsInput = accessReasonSchemas.principalReasons.openapi(
  'ServicePrincipalAccessReasonsInput',
);
const WorkspaceAccessReasonPolicy = z
  .object({ workspaceId: z.string().uuid(), deniedReasons: reasons, requireReason: z.boolean() })
  .openapi('WorkspaceAccessReasonPolicy');
const ServicePrincipalAccessReasons = z
  .object({ id: z.string().uuid(), allowedReasons: reasons })
  .openapi('ServicePrincipalAccessReasons');
const KeyUseByReason = z
  .object({
    workspaceId: z.string().uuid().nullable(),
    bucket: z.enum(['minute', 'hour', 'day']),
    from: z.string().datetime(),
    to: z.string().datetime(),
    reasons: z.array(z.string()).describe('NONE (no reason given), then every reason'),
    points: z.array(
      z.object({
        at: z.string().datetime().describe('start of the bucket (UTC)'),
        reason: z.string(),
        issued: z.number().int().min(0),
        denied: z.number().int().min(0),
      }),
    ),
  })
  .openapi('KeyUseByReason');

export function accessReasonRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_reasons);
  const policy = '/v1/tenants/{tenantId}/workspaces/{id}/access-reason-policy';
  route('get', policy, {
    id: 'getWorkspaceAccessReasonPolicy',
    summary: "The workspace's access-reason policy (reasons refused, whether a reason is required)",
    access: 'readers',
    params: path('tenantId', 'id'),
    ok: [200, WorkspaceAccessReasonPolicy],
    errors: [401, 403, 404],
  });
  route('put', policy, {
    id: 'setWorkspaceAccessReasonPolicy',
    summary:
      "Set the workspace's access-reason policy (key admin; audited with the change; every replica applies it at once)",
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: WorkspaceAccessReasonPolicyInput,
    ok: [200, WorkspaceAccessReasonPolicy],
    errors: [400, 401, 403, 404, 415],
  });
  const allowed = '/v1/tenants/{tenantId}/service-principals/{id}/access-reasons';
  route('get', allowed, {
    id: 'getServicePrincipalAccessReasons',
    summary: 'The reasons a service principal may give (default: all but VENDOR_SUPPORT and EMERGENCY)',
    access: 'readers',
    params: path('tenantId', 'id'),
    ok: [200, ServicePrincipalAccessReasons],
    errors: [401, 403, 404],
  });
  route('put', allowed, {
    id: 'setServicePrincipalAccessReasons',
    summary: 'Set the reasons a service principal may give (key admin; audited with the change)',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: ServicePrincipalAccessReasonsInput,
    ok: [200, ServicePrincipalAccessReasons],
    errors: [400, 401, 403, 404, 415],
  });
  route('get', '/v1/tenants/{tenantId}/key-use', {
    id: 'getKeyUseByReason',
    summary: 'DEKs issued and requests refused, by reason over time, for the tenant or one workspace',
    access: 'readers',
    params: path('tenantId'),
    query: accessReasonSchemas.keyUseQuery,
    ok: [200, KeyUseByReason],
    errors: [400, 401, 403, 404],
  });
}
