import { MAX_ALLOW_LIST_ENTRIES } from '@app/auth';
import { MAX_SECRET_OVERLAP_SECONDS } from '@app/keys';
import { adminErrors, op, pathParam, ref, str, tenantParam, uuid, type Schema } from './openapi';

/**
 * OpenAPI paths and schemas of the service-principal lifecycle routes (service-principal.controller.ts). Called
 * when the document is built. The secrets paths come before the principal's own path so that tools walking the
 * document in order (the hardening matrix and fuzzer) exercise them before trying the DELETE of the principal.
 */
export function servicePrincipalPaths(): Schema {
  const id = pathParam('id');
  const secretId = pathParam('secretId');
  return {
    '/v1/tenants/{tenantId}/service-principals/{id}/secrets': {
      post: op({
        id: 'rotateServicePrincipalSecret',
        summary: 'New client secret (shown once); the previous one keeps working for overlapSeconds, then stops with its tokens',
        security: 'admin',
        params: [tenantParam, id],
        body: ref('RotateServicePrincipalSecret'),
        ok: [201, ref('ServicePrincipalSecretCreated')],
        errors: adminErrors,
      }),
    },
    '/v1/tenants/{tenantId}/service-principals/{id}/secrets/{secretId}': {
      delete: op({ id: 'revokeServicePrincipalSecret', summary: 'Revoke one secret now (and the tokens issued for it, on every replica)', security: 'admin', params: [tenantParam, id, secretId], ok: [204, null], errors: [401, 403, 404] }),
    },
    '/v1/tenants/{tenantId}/service-principals/{id}': {
      get: op({ id: 'getServicePrincipal', summary: 'One service principal with its live secrets (ids and expiry, never a secret or hash)', security: 'auditor', params: [tenantParam, id], ok: [200, ref('ServicePrincipalDetail')], errors: [401, 403, 404] }),
      patch: op({
        id: 'updateServicePrincipal',
        summary: 'Disable/enable, rename, change the workspace scope or the source-address allow-list (takes effect on every replica)',
        security: 'admin',
        params: [tenantParam, id],
        body: ref('UpdateServicePrincipal'),
        ok: [200, ref('ServicePrincipalDetail')],
        errors: adminErrors,
      }),
      delete: op({ id: 'deleteServicePrincipal', summary: 'Delete a service principal (its tokens stop on every replica)', security: 'admin', params: [tenantParam, id], ok: [204, null], errors: [401, 403, 404] }),
    },
  };
}

export function servicePrincipalSchemas(): Schema {
  const summary = {
    id: uuid,
    name: str,
    clientId: str,
    disabled: { type: 'boolean' },
    workspaceIds: { type: 'array', items: uuid },
    ipAllowList: { type: 'array', items: str, description: 'CIDRs the principal may call from; empty = anywhere' },
    clientCertificateSha256: { type: ['string', 'null'], pattern: '^[0-9a-f]{64}$', description: 'SHA-256 fingerprint of the client certificate its tokens must arrive over (internal listener, mutual TLS); null = not bound' },
    createdAt: { type: 'string', format: 'date-time' },
  };
  return {
    ServicePrincipalDetail: {
      type: 'object',
      required: ['id', 'name', 'clientId', 'disabled', 'workspaceIds', 'ipAllowList', 'createdAt', 'secrets'],
      additionalProperties: false,
      properties: {
        ...summary,
        secrets: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'createdAt', 'expiresAt'],
            additionalProperties: false,
            properties: { id: uuid, createdAt: { type: 'string', format: 'date-time' }, expiresAt: { type: ['string', 'null'], format: 'date-time' } },
          },
        },
      },
    },
    UpdateServicePrincipal: {
      type: 'object',
      minProperties: 1,
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 200 },
        disabled: { type: 'boolean' },
        workspaceIds: { type: 'array', items: uuid, maxItems: 1000, description: 'replaces the scope; every id must be a workspace of the tenant' },
        ipAllowList: { type: 'array', items: { type: 'string', description: 'CIDR, no host bits set' }, maxItems: MAX_ALLOW_LIST_ENTRIES },
        clientCertificateSha256: {
          type: ['string', 'null'],
          maxLength: 95,
          description: "binds the principal to one client certificate (SHA-256 fingerprint, 64 hex digits, colons allowed); null unbinds",
        },
      },
    },
    RotateServicePrincipalSecret: {
      type: 'object',
      required: ['overlapSeconds'],
      additionalProperties: false,
      properties: { overlapSeconds: { type: 'integer', minimum: 0, maximum: MAX_SECRET_OVERLAP_SECONDS, description: 'how long the previous secret keeps working; 0 = stops now' } },
    },
    ServicePrincipalSecretCreated: {
      type: 'object',
      required: ['id', 'clientId', 'secretId', 'clientSecret', 'previousSecretsExpireAt'],
      properties: { id: uuid, clientId: str, secretId: uuid, clientSecret: { type: 'string', description: 'shown once' }, previousSecretsExpireAt: { type: ['string', 'null'], format: 'date-time' } },
    },
  };
}
