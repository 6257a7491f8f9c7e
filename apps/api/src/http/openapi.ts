import { credentialPaths, credentialSchemas } from './openapi-credentials';
import { platformPaths } from './openapi-platform';
import { mfaPaths, mfaSchemas } from './openapi-mfa';

/**
 * OpenAPI 3.1 document of both APIs, kept next to the routes (the hardening suite iterates it). Every route
 * registered by the controllers and dek-routes appears here; test/e2e checks the two lists agree.
 */
import { servicePrincipalPaths, servicePrincipalSchemas } from './openapi-service-principals';
import { destroyDekOperation, segmentPaths } from './openapi-segments';
import { auditPaths } from './openapi-audit';
import { siemPaths, siemSchemas } from './openapi-siem';
import { operationHistoryGet, operationHistorySchemas } from './openapi-operations';
import { bulkPaths, listPaths, listSchemas } from './openapi-lists';
import { workspaceDestroyOperations } from './openapi-workspace-destroy';
import { eventPaths } from './openapi-events';
import { ssoPaths, ssoSchemas } from './openapi-sso';

export type Schema = Record<string, unknown>;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: Schema) => ({ 'application/json': { schema } });
export const uuid = { type: 'string', format: 'uuid' };
export const str = { type: 'string' };

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { description: ERROR_TEXT[s] ?? 'error', content: json(ref('Error')) }]));

const ERROR_TEXT: Record<number, string> = {
  400: 'malformed or invalid request (code names the problem)',
  401: 'missing or invalid token',
  403: 'role not allowed (separation of duties)',
  404: 'not found (also: another tenant, outside scope, malformed id)',
  409: 'conflict with the current state',
  410: 'workspace keys shredded (WORKSPACE_SHREDDED), workspace destroyed (WORKSPACE_DESTROYED) or segment destroyed (SEGMENT_DESTROYED)',
  413: 'body too large',
  415: 'body must be application/json',
  429: 'rate limited or DEK quota reached (RATE_LIMITED, DEK_CREATE_RATE_LIMITED, DEK_QUOTA_EXCEEDED; Retry-After)',
  503: 'customer KMS unreachable and nothing cached (KMS_UNAVAILABLE), or the KEK reached its wrap limit and is being rotated (KEK_WRAP_LIMIT); Retry-After',
};

export const pathParam = (name: string, schema: Schema = uuid) => ({ name, in: 'path', required: true, schema });
export const tenantParam = pathParam('tenantId');

export function op(o: {
  id: string;
  summary: string;
  security: 'operator' | 'admin' | 'auditor' | 'service' | 'none';
  params?: unknown[];
  body?: Schema;
  ok: [number, Schema | null, string?];
  errors?: number[];
}) {
  const security =
    o.security === 'none' ? [] : [{ [o.security === 'operator' ? 'operatorToken' : o.security === 'service' ? 'serviceToken' : 'adminToken']: [] }];
  return {
    operationId: o.id,
    summary: o.summary,
    ...(o.security === 'admin' || o.security === 'auditor' ? { 'x-keyhold-roles': o.security === 'admin' ? ['key_admin'] : ['key_admin', 'auditor'] } : {}),
    security,
    parameters: o.params ?? [],
    ...(o.body ? { requestBody: { required: true, content: json(o.body) } } : {}),
    responses: {
      [String(o.ok[0])]: { description: o.ok[2] ?? 'success', ...(o.ok[1] ? { content: json(o.ok[1]) } : {}) },
      ...errors(...(o.errors ?? [])),
    },
  };
}

export const adminErrors = [400, 401, 403, 404, 415];

export function openApiDocument(serverUrl?: string): Schema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keyhold',
      version: '1.0.0',
      description:
        'Customer-managed keys control plane: tenant admin API (/v1, public listener) and internal DEK API (/internal/v1, the internal listener KEYHOLD_INTERNAL_PORT, which also serves POST /v1/auth/token for client_credentials and /metrics; the public listener answers 404 for /internal/* and /metrics).',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths: {
      ...servicePrincipalPaths(),
      '/v1/tenants': {
        post: op({
          id: 'createTenant',
          summary: "Create a tenant and email its first key admin a one-time invitation (platform operator; the answer never carries the link, a password is refused: PASSWORD_NOT_ACCEPTED)",
          security: 'operator',
          body: ref('CreateTenant'),
          ok: [201, ref('TenantCreated')],
          errors: [400, 401, 413, 415, 503],
        }),
      },
      '/v1/auth/token': {
        post: op({ id: 'issueToken', summary: 'Issue an access token (password or client_credentials grant; on the internal listener client_credentials only)', security: 'none', body: ref('TokenRequest'), ok: [200, ref('TokenResponse')], errors: [400, 401, 413, 415, 429] }),
      },
      '/v1/tenants/{tenantId}': {
        get: op({ id: 'getTenant', summary: 'Tenant with the identities a customer must trust', security: 'auditor', params: [tenantParam], ok: [200, ref('Tenant')], errors: [401, 403, 404] }),
      },
      ...credentialPaths,
      ...ssoPaths,
      ...mfaPaths,
      '/v1/tenants/{tenantId}/key-configurations': {
        post: op({ id: 'registerKeyConfiguration', summary: 'Register and validate a customer key', security: 'admin', params: [tenantParam], body: ref('RegisterKeyConfiguration'), ok: [201, ref('KeyConfiguration')], errors: [...adminErrors, 409] }),
        get: listPaths().keyConfigurations,
      },
      '/v1/tenants/{tenantId}/key-configurations/{id}': {
        get: op({ id: 'getKeyConfiguration', summary: 'One key configuration', security: 'auditor', params: [tenantParam, pathParam('id')], ok: [200, ref('KeyConfiguration')], errors: [401, 403, 404] }),
        delete: op({ id: 'deleteKeyConfiguration', summary: 'Delete (409 while bound)', security: 'admin', params: [tenantParam, pathParam('id')], ok: [204, null], errors: [401, 403, 404, 409] }),
      },
      '/v1/tenants/{tenantId}/key-configurations/{id}/validate': {
        post: op({ id: 'validateKeyConfiguration', summary: 'Validate again', security: 'admin', params: [tenantParam, pathParam('id')], ok: [200, ref('KeyConfiguration')], errors: [401, 403, 404] }),
      },
      '/v1/tenants/{tenantId}/workspaces': {
        post: op({ id: 'createWorkspace', summary: 'Create a workspace (unbound)', security: 'admin', params: [tenantParam], body: ref('CreateWorkspace'), ok: [201, ref('Workspace')], errors: adminErrors }),
        get: listPaths().workspaces,
      },
      '/v1/tenants/{tenantId}/workspaces/{id}': {
        get: op({ id: 'getWorkspace', summary: 'Workspace key status', security: 'auditor', params: [tenantParam, pathParam('id')], ok: [200, ref('Workspace')], errors: [401, 403, 404] }),
        ...workspaceDestroyOperations(),
      },
      '/v1/tenants/{tenantId}/workspaces/{id}/key-binding': {
        put: {
          ...op({ id: 'bindWorkspace', summary: 'Bind to a key configuration (first bind: 200 active; re-bind: 202 rekey operation)', security: 'admin', params: [tenantParam, pathParam('id')], body: ref('Binding'), ok: [200, ref('Workspace')], errors: [...adminErrors, 409, 422, 503] }),
        },
      },
      '/v1/tenants/{tenantId}/workspaces/{id}/operations': {
        post: op({ id: 'requestOperation', summary: 'Request cmk-rewrap, kek-rotation, revocation-check or reinstate', security: 'admin', params: [tenantParam, pathParam('id')], body: ref('OperationRequest'), ok: [202, ref('OperationAccepted')], errors: [...adminErrors, 409] }),
        get: operationHistoryGet(true),
      },
      '/v1/tenants/{tenantId}/operations': { get: operationHistoryGet(false) },
      ...bulkPaths(),
      '/v1/tenants/{tenantId}/operations/{operationId}': {
        get: op({ id: 'getOperation', summary: 'Operation state and progress', security: 'auditor', params: [tenantParam, pathParam('operationId')], ok: [200, ref('Operation')], errors: [401, 403, 404] }),
      },
      '/v1/tenants/{tenantId}/service-principals': {
        post: op({ id: 'createServicePrincipal', summary: 'Create a service principal (secret shown once)', security: 'admin', params: [tenantParam], body: ref('CreateServicePrincipal'), ok: [201, ref('ServicePrincipalCreated')], errors: adminErrors }),
        get: listPaths().servicePrincipals,
      },
      '/v1/tenants/{tenantId}/audit-events': {
        get: op({
          id: 'listAuditEvents',
          summary: 'Audit log page',
          security: 'auditor',
          params: [tenantParam, { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } }, { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } }],
          ok: [200, ref('AuditPage')],
          errors: [400, 401, 403, 404],
        }),
      },
      '/v1/tenants/{tenantId}/audit-events/verification': {
        get: op({ id: 'verifyAuditChain', summary: 'Verify the chain, its MACs, the head and every signed checkpoint', security: 'auditor', params: [tenantParam], ok: [200, ref('AuditVerification')], errors: [401, 403, 404] }),
      },
      '/v1/tenants/{tenantId}/audit-events/export': {
        get: { ...op({ id: 'exportAuditEvents', summary: 'Audit log as JSON lines (the input of keyhold-audit-verify)', security: 'auditor', params: [tenantParam], ok: [200, null], errors: [401, 403, 404] }) },
      },
      ...auditPaths,
      ...siemPaths,
      '/internal/v1/workspaces/{workspaceId}/segments/{segmentId}/dek': {
        get: op({
          id: 'getDek',
          summary: "Get or create a segment's DEK",
          security: 'service',
          params: [pathParam('workspaceId'), pathParam('segmentId', { type: 'string', minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' })],
          ok: [200, ref('Dek')],
          errors: [400, 401, 403, 404, 409, 410, 429, 503],
        }),
        delete: destroyDekOperation(),
      },
      '/internal/v1/workspaces/{workspaceId}/deks:batchGet': {
        post: op({ id: 'batchGetDeks', summary: 'Get or create up to 1000 DEKs', security: 'service', params: [pathParam('workspaceId')], body: ref('BatchGet'), ok: [200, ref('DekBatch')], errors: [400, 401, 403, 404, 409, 410, 413, 415, 429, 503] }),
      },
      ...segmentPaths(),
      ...eventPaths,
      '/healthz': { get: op({ id: 'healthz', summary: 'Process alive', security: 'none', ok: [200, { type: 'object' }] }) },
      '/readyz': { get: op({ id: 'readyz', summary: 'Postgres and Redis reachable', security: 'none', ok: [200, { type: 'object' }], errors: [503] }) },
      '/metrics': { get: op({ id: 'metrics', summary: 'Prometheus metrics (internal listener only)', security: 'none', ok: [200, null] }) },
      '/openapi.json': { get: op({ id: 'openapi', summary: 'This document', security: 'none', ok: [200, { type: 'object' }] }) },
      ...platformPaths,
    },
    components: {
      securitySchemes: {
        operatorToken: { type: 'http', scheme: 'bearer', description: 'A platform operator token (KEYHOLD_OPERATOR_TOKENS / KEYHOLD_OPERATOR_TOKEN)' },
        adminToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'aud keyhold-admin; roles key_admin, auditor' },
        serviceToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'aud keyhold-internal; role service' },
      },
      schemas: {
        ...servicePrincipalSchemas(),
        ...siemSchemas,
        ...operationHistorySchemas,
        ...listSchemas(),
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', pattern: '^[A-Z_]+$' }, message: str } } } },
        CreateTenant: {
          type: 'object',
          required: ['name', 'admin'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 200 }, admin: { type: 'object', required: ['email'], additionalProperties: false, properties: { email: { type: 'string', format: 'email' } } } },
        },
        TenantCreated: { allOf: [ref('Tenant'), { type: 'object', required: ['invitation'], properties: { invitation: ref('Invitation') } }] },
        ...credentialSchemas,
        ...ssoSchemas,
        ...mfaSchemas,
        Tenant: {
          type: 'object',
          required: ['id', 'name'],
          properties: {
            id: uuid,
            name: str,
            aws: { type: 'object', properties: { externalId: str, trustedPrincipalArn: str, trustPolicy: str } },
            azure: { type: 'object', properties: { clientId: str, appName: str, externalId: str, ownershipTag: { const: 'keyhold-external-id' } } },
            gcp: { type: 'object', properties: { serviceAccount: str } },
          },
        },
        TokenRequest: {
          oneOf: [
            { type: 'object', required: ['grant_type', 'tenant_id', 'username', 'password'], properties: { grant_type: { const: 'password' }, tenant_id: uuid, username: str, password: str } },
            { type: 'object', required: ['grant_type', 'client_id', 'client_secret'], properties: { grant_type: { const: 'client_credentials' }, client_id: str, client_secret: str } },
          ],
        },
        TokenResponse: {
          oneOf: [
            { type: 'object', required: ['access_token', 'token_type', 'expires_in'], properties: { access_token: str, token_type: { const: 'Bearer' }, expires_in: { type: 'integer' } } },
            ref('MfaChallenge'),
          ],
        },
        RegisterKeyConfiguration: {
          type: 'object',
          required: ['name', 'provider'],
          description: 'Exactly the section named by provider is used. An externalId anywhere is refused (400).',
          properties: {
            name: str,
            provider: { enum: ['aws', 'azure', 'gcp'] },
            aws: { type: 'object', required: ['keyArn', 'roleArn'], properties: { keyArn: str, roleArn: str } },
            azure: { type: 'object', required: ['keyId', 'tenantId'], properties: { keyId: { type: 'string', format: 'uri' }, tenantId: str } },
            gcp: { type: 'object', required: ['keyName', 'serviceAccount'], properties: { keyName: str, serviceAccount: str } },
          },
        },
        KeyConfiguration: {
          type: 'object',
          required: ['id', 'provider', 'status', 'validation'],
          properties: {
            id: uuid,
            name: str,
            provider: { enum: ['aws', 'azure', 'gcp'] },
            status: { enum: ['valid', 'invalid'] },
            validation: {
              type: 'object',
              properties: {
                checks: { type: 'array', items: { type: 'object', required: ['name', 'ok', 'message'], properties: { name: str, ok: { type: 'boolean' }, message: str } } },
                probeWarning: {
                  type: 'object',
                  description: 'Set by the access probe when the key works but met a refusal to fix (describe_denied); never a revocation',
                  required: ['code', 'errorClass', 'providerCode', 'message', 'since'],
                  properties: { code: { enum: ['describe_denied'] }, errorClass: str, providerCode: str, message: str, since: { type: 'string', format: 'date-time' } },
                },
              },
            },
            setup: { type: 'object' },
          },
        },
        CreateWorkspace: { type: 'object', required: ['name'], properties: { name: str } },
        DestroyWorkspace: { type: 'object', required: ['confirm'], properties: { confirm: { ...str, description: "the workspace's name, typed back" } } },
        Workspace: {
          type: 'object',
          required: ['id', 'name', 'keyState'],
          properties: {
            id: uuid,
            name: str,
            keyState: { enum: ['unbound', 'provisioning', 'active', 'rewrapping', 'rekeying', 'kek_rotating', 'access_suspect', 'shredded', 'destroyed'] },
            keyConfigurationId: { type: ['string', 'null'], format: 'uuid' },
            kekVersion: { type: ['integer', 'null'] },
            degraded: { type: 'boolean' },
          },
        },
        Binding: { type: 'object', required: ['keyConfigurationId'], properties: { keyConfigurationId: uuid } },
        OperationRequest: { type: 'object', required: ['kind'], properties: { kind: { enum: ['cmk-rewrap', 'kek-rotation', 'revocation-check', 'reinstate'] } } },
        OperationAccepted: { type: 'object', required: ['operationId'], properties: { operationId: uuid } },
        Operation: {
          type: 'object',
          required: ['id', 'kind', 'workspaceId', 'state', 'progress'],
          properties: {
            id: uuid,
            kind: { enum: ['cmk-rewrap', 'rekey', 'kek-rotation', 'revocation-check', 'reinstate'] },
            workspaceId: uuid,
            state: { enum: ['queued', 'running', 'succeeded', 'failed'] },
            progress: { type: 'object', properties: { done: { type: 'integer' }, total: { type: 'integer' } } },
            error: { type: ['string', 'null'] },
            result: {
              type: ['object', 'null'],
              description: 'When succeeded, what the operation did, e.g. cmk-rewrap {keyVersion, kekVersions}, rekey {keyConfigurationId, kekVersions}',
            },
          },
        },
        CreateServicePrincipal: {
          type: 'object',
          required: ['name', 'workspaceIds'],
          properties: { name: str, workspaceIds: { type: 'array', items: uuid, maxItems: 1000 }, permissions: ref('Permissions') },
        },
        Permissions: { type: 'array', items: { enum: ['dek:fetch', 'dek:destroy'] }, description: 'dek:fetch is always granted; dek:destroy allows segment-level crypto-shred' },
        ServicePrincipalPermissions: { type: 'object', required: ['permissions'], properties: { permissions: ref('Permissions') } },
        ServicePrincipalCreated: { type: 'object', required: ['id', 'clientId', 'clientSecret'], properties: { id: uuid, clientId: str, clientSecret: str, permissions: ref('Permissions') } },
        ServicePrincipal: {
          type: 'object',
          required: ['id', 'name', 'clientId', 'workspaceIds', 'permissions', 'createdAt'],
          additionalProperties: false,
          properties: { id: uuid, name: str, clientId: str, disabled: { type: 'boolean' }, workspaceIds: { type: 'array', items: uuid }, ipAllowList: { type: 'array', items: str }, clientCertificateSha256: { type: ['string', 'null'] }, permissions: ref('Permissions'), createdAt: { type: 'string', format: 'date-time' } },
        },
        AuditEvent: {
          type: 'object',
          properties: { seq: { type: 'integer' }, at: { type: 'string', format: 'date-time' }, actor: str, action: str, target: str, outcome: str, details: { type: 'object' }, hash: str, prevHash: str, mac: { type: ['string', 'null'] } },
        },
        AuditPage: { type: 'object', required: ['events'], properties: { events: { type: 'array', items: ref('AuditEvent') }, next: { type: ['integer', 'null'] } } },
        AuditVerification: {
          type: 'object',
          required: ['ok', 'count'],
          properties: {
            ok: { type: 'boolean' },
            count: { type: 'integer' },
            headHash: str,
            checkpoints: { type: 'integer' },
            lastCheckpointSeq: { type: 'integer' },
            uncheckpointed: { type: 'integer', description: 'records newer than the latest checkpoint' },
            firstBadSeq: { type: 'integer' },
            reason: {
              enum: ['malformed', 'tenant_mismatch', 'reordered', 'gap', 'prev_mismatch', 'modified', 'mac_invalid', 'checkpoint_signature_invalid', 'forked', 'truncated', 'head_missing', 'head_mismatch', 'head_mac_invalid', 'checkpoint_missing'],
            },
            message: str,
            record: { type: 'integer', description: 'position of the first bad record in the log (1-based)' },
          },
        },
        Dek: { type: 'object', required: ['dek', 'dekId', 'kekVersion'], properties: { dek: { type: 'string', contentEncoding: 'base64', description: '32 bytes' }, dekId: uuid, kekVersion: { type: 'integer' } } },
        BatchGet: { type: 'object', required: ['segmentIds'], properties: { segmentIds: { type: 'array', items: str, minItems: 1, maxItems: 1000 } } },
        DekBatch: { type: 'object', required: ['deks'], properties: { deks: { type: 'array', items: { allOf: [ref('Dek'), { type: 'object', properties: { segmentId: str } }] } } } },
      },
    },
  };
}
