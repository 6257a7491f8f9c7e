import { DomainError, ErrorCode, SERVICE_PERMISSIONS } from '@app/keys';
import { isUuid } from '@app/persistence';
import { z } from 'zod';

/** Parses a body with zod; failures are 400 VALIDATION_FAILED naming the field. */
export function parseBody<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body))
    throw new DomainError(ErrorCode.ValidationFailed, 'the request body must be a JSON object');
  const r = schema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0];
    const where = i.path.length ? i.path.join('.') : 'body';
    throw new DomainError(ErrorCode.ValidationFailed, `${where}: ${i.message}`);
  }
  return r.data;
}

/** A path id that is not a UUID names nothing: 404, same as an unknown id. */
export function pathId(value: string, what: ErrorCode = ErrorCode.NotFound): string {
  if (!isUuid(value)) throw new DomainError(what, 'not found');
  return value.toLowerCase();
}

const name = z.string().trim().min(1).max(200);
/** An account name looked up in Postgres, which cannot hold a NUL character in text (the query would fail: a 500). */
const lookupKey = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters');
const email = z.string().trim().max(254).email();

export const schemas = {
  createTenant: z.object({ name, admin: z.object({ email }).strict() }),
  token: z.discriminatedUnion('grant_type', [
    z.object({
      grant_type: z.literal('password'),
      tenant_id: z.string().max(64),
      username: lookupKey(254),
      password: z.string().min(1).max(1024),
    }),
    z.object({
      grant_type: z.literal('client_credentials'),
      client_id: lookupKey(128),
      client_secret: z.string().min(1).max(1024),
    }),
  ]),
  registerKeyConfiguration: z
    .object({
      name: z
        .string()
        .trim()
        .min(1)
        .max(100)
        .regex(/^[\w .:-]+$/, 'letters, digits, space, _ . : - only'),
      provider: z.enum(['aws', 'azure', 'gcp']),
      aws: z.record(z.unknown()).optional(),
      azure: z.record(z.unknown()).optional(),
      gcp: z.record(z.unknown()).optional(),
    })
    .passthrough(),
  createWorkspace: z.object({ name }),
  bind: z.object({ keyConfigurationId: z.string().uuid() }),
  operation: z.object({ kind: z.string().min(1).max(50) }),
  servicePrincipal: z.object({
    name,
    workspaceIds: z.array(z.string().uuid()).max(1000),
    permissions: z.array(z.enum(SERVICE_PERMISSIONS)).max(10).optional(),
  }),
  servicePrincipalPermissions: z.object({ permissions: z.array(z.enum(SERVICE_PERMISSIONS)).max(10) }),
  checkpointQuery: z.object({
    after: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  }),
};
