/**
 * OpenAPI paths of SIEM streaming (docs/AUDIT.md "Streaming to a SIEM"). Spread into the document by openapi.ts.
 */
const str = { type: 'string' };
const uuid = { type: 'string', format: 'uuid' };
const dateTime = { type: 'string', format: 'date-time' };
const nullable = (s: Record<string, unknown>) => ({ oneOf: [s, { type: 'null' }] });
const errorRef = { $ref: '#/components/schemas/Error' };
const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: 'error', content: json(errorRef) }]));
const tenantParam = { name: 'tenantId', in: 'path', required: true, schema: uuid };
const idParam = { name: 'id', in: 'path', required: true, schema: uuid };
const readers = { 'x-keyhold-roles': ['key_admin', 'auditor'], security: [{ adminToken: [] }] };
const admins = { 'x-keyhold-roles': ['key_admin'], security: [{ adminToken: [] }] };

const kind = { type: 'string', enum: ['webhook', 'splunk-hec', 'jsonl'] };
const format = { type: 'string', enum: ['native', 'cef', 'ocsf'] };

const destination = {
  type: 'object',
  description: 'A SIEM destination with its delivery status (never its secret or token)',
  required: ['id', 'name', 'kind', 'format', 'url', 'state', 'cursorSeq', 'headSeq', 'pendingEvents', 'lagSeconds', 'failures', 'deliveredCount', 'createdAt'],
  properties: {
    id: uuid,
    name: str,
    kind,
    format,
    url: str,
    state: { type: 'string', enum: ['active', 'dead_letter'] },
    cursorSeq: { type: 'integer', description: 'last audit sequence the receiver acknowledged with a 2xx' },
    headSeq: { type: 'integer', description: "the tenant's newest audit sequence" },
    pendingEvents: { type: 'integer' },
    lagSeconds: { type: 'number', description: 'age of the oldest event not yet acknowledged (0 when caught up)' },
    failures: { type: 'integer', description: 'consecutive failed attempts' },
    lastError: nullable(str),
    lastAttemptAt: nullable(dateTime),
    lastDeliveredAt: nullable(dateTime),
    deadLetteredAt: nullable(dateTime),
    deliveredCount: { type: 'integer' },
    secretRotatedAt: dateTime,
    previousSecretExpiresAt: nullable(dateTime),
    createdAt: dateTime,
  },
};

const withSecret = {
  type: 'object',
  required: ['destination'],
  properties: {
    destination,
    secret: { type: 'string', description: 'webhook / JSON-lines signing secret: shown in this answer only' },
  },
};

/** Request bodies, named so clients (and the hardening suite's body table) can refer to them. */
export const siemSchemas = {
  CreateSiemDestination: {
    type: 'object',
    required: ['name', 'kind', 'url'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      kind,
      format: { ...format, default: 'native' },
      url: { type: 'string', maxLength: 2048, description: 'https; no internal addresses (checked when saved and at every connection)' },
      token: { type: 'string', maxLength: 256, description: 'Splunk HEC only: the HEC token (never returned)' },
    },
  },
  RotateSiemSecret: {
    type: 'object',
    additionalProperties: false,
    properties: {
      token: { type: 'string', maxLength: 256, description: 'Splunk HEC only: the new HEC token' },
      overlapSeconds: { type: 'integer', minimum: 0, maximum: 604800, default: 0, description: 'signed destinations: the previous secret also signs (a second v1=) for this long' },
    },
  },
};

export const siemPaths = {
  '/v1/tenants/{tenantId}/siem-destinations': {
    get: {
      operationId: 'listSiemDestinations',
      summary: 'SIEM destinations with their delivery status, lag and dead-letter state',
      ...readers,
      parameters: [tenantParam],
      responses: { '200': { description: 'success', content: json({ type: 'object', required: ['destinations'], properties: { destinations: { type: 'array', items: destination } } }) }, ...errors(401, 403, 404) },
    },
    post: {
      operationId: 'createSiemDestination',
      summary: 'Stream the audit log to a SIEM (webhook with HMAC signature, Splunk HEC or JSON lines; native, CEF or OCSF fields)',
      ...admins,
      parameters: [tenantParam],
      requestBody: { required: true, content: json({ $ref: '#/components/schemas/CreateSiemDestination' }) },
      responses: { '201': { description: 'created', content: json(withSecret) }, ...errors(400, 401, 403, 404, 409, 415) },
    },
  },
  '/v1/tenants/{tenantId}/siem-destinations/{id}': {
    get: {
      operationId: 'getSiemDestination',
      summary: 'One SIEM destination with its delivery status',
      ...readers,
      parameters: [tenantParam, idParam],
      responses: { '200': { description: 'success', content: json(destination) }, ...errors(401, 403, 404) },
    },
    delete: {
      operationId: 'deleteSiemDestination',
      summary: 'Stop streaming to a destination and forget it (and its secret)',
      ...admins,
      parameters: [tenantParam, idParam],
      responses: { '204': { description: 'deleted' }, ...errors(401, 403, 404) },
    },
  },
  '/v1/tenants/{tenantId}/siem-destinations/{id}/secret': {
    post: {
      operationId: 'rotateSiemDestinationSecret',
      summary: 'New signing secret (shown once), or a new Splunk HEC token in the body; used from the next delivery',
      ...admins,
      parameters: [tenantParam, idParam],
      requestBody: { required: false, content: json({ $ref: '#/components/schemas/RotateSiemSecret' }) },
      responses: { '200': { description: 'rotated', content: json(withSecret) }, ...errors(400, 401, 403, 404, 415) },
    },
  },
  '/v1/tenants/{tenantId}/siem-destinations/{id}/retry': {
    post: {
      operationId: 'retrySiemDestination',
      summary: 'Take a dead-lettered destination back: delivery resumes from the last acknowledged event',
      ...admins,
      parameters: [tenantParam, idParam],
      responses: { '200': { description: 'active again', content: json({ type: 'object', required: ['destination'], properties: { destination } }) }, ...errors(401, 403, 404) },
    },
  },
};
