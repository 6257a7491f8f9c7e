/**
 * OpenAPI paths of audit tamper evidence (docs/AUDIT.md): checkpoints and Keyhold's public keys. Spread into the
 * document by openapi.ts.
 */
const str = { type: 'string' };
const uuid = { type: 'string', format: 'uuid' };
const errorRef = { $ref: '#/components/schemas/Error' };
const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: json(errorRef) });
const tenantParam = { name: 'tenantId', in: 'path', required: true, schema: uuid };
const roles = { 'x-keyhold-roles': ['key_admin', 'auditor'], security: [{ adminToken: [] }] };

const checkpoint = {
  type: 'object',
  required: ['tenantId', 'seq', 'headHash', 'at', 'keyId', 'signature'],
  description: 'Ed25519 signature over "keyhold-audit-checkpoint/v1\\n{tenantId}\\n{seq}\\n{headHash}\\n{at}" (UTF-8)',
  properties: {
    tenantId: uuid,
    seq: { type: 'integer', minimum: 1 },
    headHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    at: { type: 'string', format: 'date-time' },
    keyId: str,
    signature: { type: 'string', contentEncoding: 'base64' },
  },
};

export const auditPaths = {
  '/v1/audit/public-keys': {
    get: {
      operationId: 'listAuditPublicKeys',
      summary: "Keyhold's checkpoint verification keys (Ed25519, current and retired)",
      security: [],
      parameters: [],
      responses: {
        '200': {
          description: 'success',
          content: json({
            type: 'object',
            required: ['keys'],
            properties: {
              keys: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['keyId', 'algorithm', 'publicKeyPem', 'current'],
                  properties: { keyId: str, algorithm: { const: 'Ed25519' }, publicKeyPem: str, current: { type: 'boolean' } },
                },
              },
            },
          }),
        },
      },
    },
  },
  '/v1/tenants/{tenantId}/audit-events/checkpoints': {
    get: {
      operationId: 'listAuditCheckpoints',
      summary: 'Signed checkpoints, oldest first (paged by seq)',
      ...roles,
      parameters: [
        tenantParam,
        { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
      ],
      responses: {
        '200': {
          description: 'success',
          content: json({ type: 'object', required: ['checkpoints', 'next'], properties: { checkpoints: { type: 'array', items: checkpoint }, next: { type: ['integer', 'null'] } } }),
        },
        '400': err('malformed or invalid request (code names the problem)'),
        '401': err('missing or invalid token'),
        '403': err('role not allowed (separation of duties)'),
        '404': err('not found (also: another tenant, outside scope, malformed id)'),
      },
    },
    post: {
      operationId: 'createAuditCheckpoint',
      summary: 'Sign a checkpoint over the current head now (after verifying what was appended since the last one)',
      ...roles,
      parameters: [tenantParam],
      responses: {
        '200': { description: 'the newest checkpoint (null for an empty log)', content: json({ type: 'object', required: ['checkpoint'], properties: { checkpoint: { oneOf: [checkpoint, { type: 'null' }] } } }) },
        '401': err('missing or invalid token'),
        '403': err('role not allowed (separation of duties)'),
        '404': err('not found (also: another tenant, outside scope, malformed id)'),
        '409': err('the log does not verify; Keyhold will not sign it (AUDIT_LOG_TAMPERED)'),
      },
    },
  },
};
