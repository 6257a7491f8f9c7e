/**
 * The endpoints of the OpenAPI document the API serves (GET /openapi.json), in the form the matrix and the
 * fuzzer iterate: method, path template, who may call it, its parameters and whether it takes a body.
 */
export type Security = 'none' | 'operator' | 'admin' | 'service';

export interface Endpoint {
  method: string;
  path: string;
  operationId: string;
  security: Security;
  /** Roles allowed for admin endpoints (x-keyhold-roles). */
  roles: string[];
  pathParams: string[];
  queryParams: string[];
  hasBody: boolean;
  bodySchemaRef: string | null;
}

export function endpointsOf(doc: any): Endpoint[] {
  if (!doc || typeof doc !== 'object' || !doc.paths) throw new Error('the OpenAPI document has no paths');
  const out: Endpoint[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      const sec = (op.security ?? []) as Array<Record<string, unknown>>;
      const scheme = sec.length ? Object.keys(sec[0])[0] : null;
      const security: Security =
        scheme === null
          ? 'none'
          : scheme === 'operatorToken'
            ? 'operator'
            : scheme === 'serviceToken'
              ? 'service'
              : 'admin';
      const params = (op.parameters ?? []) as Array<{ name: string; in: string }>;
      const schema = op.requestBody?.content?.['application/json']?.schema;
      out.push({
        method: method.toUpperCase(),
        path,
        operationId: String(op.operationId ?? `${method} ${path}`),
        security,
        roles: Array.isArray(op['x-keyhold-roles']) ? op['x-keyhold-roles'] : security === 'admin' ? ['key_admin'] : [],
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        hasBody: Boolean(op.requestBody),
        bodySchemaRef: typeof schema?.$ref === 'string' ? schema.$ref.split('/').pop() : null,
      });
    }
  }
  return out;
}

/** Fill `{param}` placeholders; values are URL-encoded unless `raw`. */
export function fillPath(template: string, values: Record<string, string>, raw = false): string {
  return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for path parameter ${name} of ${template}`);
    return raw ? v : encodeURIComponent(v);
  });
}

/** What kind of object a path parameter names, from the segment before it (`/workspaces/{id}` → workspace). */
export function paramKind(
  template: string,
  name: string,
):
  | 'tenant'
  | 'workspace'
  | 'keyConfiguration'
  | 'operation'
  | 'segment'
  | 'servicePrincipal'
  | 'secret'
  | 'adminUser'
  | 'invitation'
  | 'mfaFactor'
  | 'siemDestination'
  | 'bulkOperation'
  | 'unknown' {
  if (name === 'tenantId') return 'tenant';
  if (name === 'workspaceId') return 'workspace';
  if (name === 'operationId') return 'operation';
  if (name === 'segmentId') return 'segment';
  const parts = template.split('/');
  const i = parts.indexOf(`{${name}}`);
  const before = i > 0 ? parts[i - 1] : '';
  if (before === 'workspaces') return 'workspace';
  if (before === 'key-configurations') return 'keyConfiguration';
  if (before === 'operations') return 'operation';
  if (before === 'service-principals') return 'servicePrincipal';
  if (before === 'secrets') return 'secret';
  if (before === 'admin-users') return 'adminUser';
  if (before === 'invitations') return 'invitation';
  if (name === 'factorId') return 'mfaFactor';
  if (before === 'siem-destinations') return 'siemDestination';
  if (before === 'bulk-operations') return 'bulkOperation';
  return 'unknown';
}
