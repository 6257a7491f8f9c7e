/**
 * The building blocks the hand-written OpenAPI fragments share (credentials, MFA, SSO): schema references, the error
 * response, the common parameters, and one operation builder over a fragment's own table of error responses.
 */
export type Schema = Record<string, unknown>;

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: Schema) => ({ 'application/json': { schema } });
export const uuid = { type: 'string', format: 'uuid' };
export const str = { type: 'string' };
export const err = (description: string) => ({ description, content: json(ref('Error')) });
export const tenantParam = { name: 'tenantId', in: 'path', required: true, schema: uuid };
export const idParam = { name: 'id', in: 'path', required: true, schema: uuid };
export const adminToken = [{ adminToken: [] }];
const redirect = (to: string) => ({ description: `redirect: ${to}`, headers: { location: { schema: str } } });

/** An operation builder whose error statuses are the keys of `errors` (each fragment documents its own codes). */
export function operations<E extends Record<number, ReturnType<typeof err>>>(errors: E) {
  return (o: {
    id: string;
    summary: string;
    roles?: string[];
    params?: unknown[];
    body?: Schema;
    ok: [number, Schema | null, string?] | [number, 'redirect', string];
    errors: Array<keyof E & number>;
  }) => {
    const [status, schema, text] = o.ok;
    return {
      operationId: o.id,
      summary: o.summary,
      ...(o.roles ? { 'x-keyhold-roles': o.roles } : {}),
      security: o.roles ? adminToken : [],
      parameters: o.params ?? [],
      ...(o.body ? { requestBody: { required: true, content: json(o.body) } } : {}),
      responses: {
        [String(status)]: schema === 'redirect' ? redirect(text) : { description: text ?? 'success', ...(schema ? { content: json(schema) } : {}) },
        ...Object.fromEntries(o.errors.map((s) => [String(s), errors[s]])),
      },
    };
  };
}
