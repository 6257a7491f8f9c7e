import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { path, routes } from './kit';
import { checkpointQuery } from './requests';
import { AuditCheckpoint } from './responses';

const TEXT_audit = {
  400: 'malformed or invalid request (code names the problem)',
  401: 'missing or invalid token',
  403: 'role not allowed (separation of duties)',
  404: 'not found (also: another tenant, outside scope, malformed id)',
  409: 'the log does not verify; Keyhold will not sign it (AUDIT_LOG_TAMPERED)',
};

export function auditRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_audit);
  route('get', '/v1/audit/public-keys', {
    id: 'listAuditPublicKeys',
    summary: "Keyhold's checkpoint verification keys (Ed25519, current and retired)",
    access: 'public',
    ok: [
      200,
      z.object({
        keys: z.array(
          z.object({
            keyId: z.string(),
            algorithm: z.literal('Ed25519'),
            publicKeyPem: z.string(),
            current: z.boolean(),
          }),
        ),
      }),
    ],
  });
  route('get', '/v1/tenants/{tenantId}/audit-events/checkpoints', {
    id: 'listAuditCheckpoints',
    summary: 'Signed checkpoints, oldest first (paged by seq)',
    access: 'readers',
    params: path('tenantId'),
    query: checkpointQuery,
    ok: [200, z.object({ checkpoints: z.array(AuditCheckpoint), next: z.number().int().nullable() })],
    errors: [400, 401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/audit-events/checkpoints', {
    id: 'createAuditCheckpoint',
    summary: 'Sign a checkpoint over the current head now (after verifying what was appended since the last one)',
    access: 'readers',
    params: path('tenantId'),
    ok: [200, z.object({ checkpoint: AuditCheckpoint.nullable() }), 'the newest checkpoint (null for an empty log)'],
    errors: [401, 403, 404, 409],
  });
}
