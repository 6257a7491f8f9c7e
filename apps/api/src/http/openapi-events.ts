/** OpenAPI paths of the key event stream (spread into the document by openapi.ts). */
export const eventPaths = {
  '/internal/v1/events': {
    get: {
      operationId: 'streamKeyEvents',
      summary: "Server-sent key events (shred, destroy, rotation) for the principal's workspaces",
      description:
        'text/event-stream. First `event: ready`, then one event per key change of a workspace in the caller\'s scope: `event: shred|destroy|invalidate|…` with `data: {"workspaceId","at"}`. ' +
        'Comment lines keep the stream alive; it ends when the token expires, and a client that does not read is disconnected. A client drops its cached DEKs of the workspace on each event, and all of them after a reconnect.',
      security: [{ serviceToken: [] }],
      parameters: [],
      responses: {
        '200': { description: 'the event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        '401': { description: 'missing or invalid token', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        '429': { description: 'too many streams for this principal (TOO_MANY_STREAMS, Retry-After)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        '503': { description: 'too many streams on this replica (TOO_MANY_STREAMS, Retry-After)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    },
  },
};
