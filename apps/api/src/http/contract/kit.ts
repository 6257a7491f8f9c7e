import { extendZodWithOpenApi, OpenAPIRegistry, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z, type AnyZodObject, type ZodTypeAny } from 'zod';

/**
 * The building blocks of the API contract: zod schemas become the OpenAPI document through
 * @asteasolutions/zod-to-openapi. A route registration names the same zod schemas the controllers validate with,
 * so the document cannot describe a body the server does not accept.
 */
extendZodWithOpenApi(z);

export const ErrorBody = z
  .object({ error: z.object({ code: z.string().regex(/^[A-Z_]+$/), message: z.string() }) })
  .openapi('Error');

const uuid = z.string().uuid();
// A segment id: the shape dek-routes accepts (printable ASCII, 1..256).
const segmentId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/);

/** Path parameters by name: every id is a UUID except a segment's. */
export function path(...names: string[]): AnyZodObject {
  return z.object(Object.fromEntries(names.map((n) => [n, n === 'segmentId' ? segmentId : uuid])));
}

/**
 * Who may call a route: nobody in particular, the platform operator, a service principal (internal API), a key
 * admin, or key admins and auditors (x-keyhold-roles, which the hardening matrix reads).
 */
export type Access = 'public' | 'operator' | 'service' | 'key_admin' | 'readers';

const SECURITY: Record<Access, Array<Record<string, string[]>>> = {
  public: [],
  operator: [{ operatorToken: [] }],
  service: [{ serviceToken: [] }],
  key_admin: [{ adminToken: [] }],
  readers: [{ adminToken: [] }],
};

export interface RouteSpec {
  id: string;
  summary: string;
  description?: string;
  access: Access;
  params?: AnyZodObject;
  query?: AnyZodObject;
  headers?: AnyZodObject;
  body?: ZodTypeAny;
  optionalBody?: boolean;
  /** Success status, its JSON body (null: none), its description; or a redirect / an event stream. */
  ok: [number, ZodTypeAny | null, string?] | [number, 'redirect' | 'event-stream', string];
  errors?: number[];
}

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Route = (method: Method, path: string, spec: RouteSpec) => void;

/** Error statuses a group of routes answers, each with what it means there (codes named). */
export type ErrorTexts = Record<number, string>;

function success([, schema, text]: RouteSpec['ok']): ResponseConfig {
  const description = text ?? 'success';
  if (schema === 'redirect')
    return { description: `redirect: ${description}`, headers: { location: { schema: { type: 'string' } } } };
  if (schema === 'event-stream') return { description, content: { 'text/event-stream': { schema: z.string() } } };
  return schema ? { description, content: { 'application/json': { schema } } } : { description };
}

/** A route registrar over one table of error texts. */
export function routes(registry: OpenAPIRegistry, texts: ErrorTexts): Route {
  return (method, path, s) => {
    const errors = Object.fromEntries(
      (s.errors ?? []).map((status) => [
        String(status),
        { description: texts[status] ?? 'error', content: { 'application/json': { schema: ErrorBody } } },
      ]),
    );
    registry.registerPath({
      method,
      path,
      operationId: s.id,
      summary: s.summary,
      ...(s.description ? { description: s.description } : {}),
      ...(s.access === 'key_admin'
        ? { 'x-keyhold-roles': ['key_admin'] }
        : s.access === 'readers'
          ? { 'x-keyhold-roles': ['key_admin', 'auditor'] }
          : {}),
      security: SECURITY[s.access],
      request: {
        ...(s.params ? { params: s.params } : {}),
        ...(s.query ? { query: s.query } : {}),
        ...(s.headers ? { headers: s.headers } : {}),
        ...(s.body ? { body: { required: !s.optionalBody, content: { 'application/json': { schema: s.body } } } } : {}),
      },
      responses: { [String(s.ok[0])]: success(s.ok), ...errors },
    });
  };
}
