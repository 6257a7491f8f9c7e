/** OpenAPI paths of the platform operator's view of Keyhold's own side (spread into openapi.ts). */
const error = { description: 'missing or invalid operator token', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };

const canary = {
  type: 'object',
  required: ['provider', 'healthy', 'errorClass', 'providerCode', 'target', 'checkedAt', 'unhealthySince'],
  properties: {
    provider: { type: 'string', enum: ['aws', 'azure', 'gcp'] },
    healthy: { type: 'boolean' },
    errorClass: { type: ['string', 'null'], description: 'provider error class of the last failure' },
    providerCode: { type: ['string', 'null'], description: "the cloud's own error code of the last failure" },
    target: { type: 'string', description: 'the vendor-owned canary key' },
    checkedAt: { type: 'string', format: 'date-time' },
    unhealthySince: { type: ['string', 'null'], format: 'date-time' },
  },
};

export const platformPaths = {
  '/v1/platform/vendor-canaries': {
    get: {
      operationId: 'listVendorCanaries',
      summary: 'Vendor-owned canary per cloud: while one fails, customer revocation verdicts on that cloud are held',
      security: [{ operatorToken: [] }],
      parameters: [],
      responses: {
        '200': {
          description: 'success',
          content: { 'application/json': { schema: { type: 'object', required: ['canaries'], properties: { canaries: { type: 'array', items: canary } } } } },
        },
        '401': error,
      },
    },
  },
};
