import { KEY_STATES } from '@app/persistence';
import { z } from 'zod';
import { listOf, listQuery, queryBoolean, search, uuidList } from './list-query';

/** An audit action (`workspace.created`) or, ending with a dot, a prefix of actions (`dek.`, `kms.aws.`). */
const ACTION = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.?$/;

/** `action=a,b.` or repeated: up to 20 exact actions and prefixes, split into the two. */
const auditActions = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) return undefined;
    const items = (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).filter(Boolean);
    if (items.length > 20 || items.some((i) => i.length > 100 || !ACTION.test(i))) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'up to 20 actions (workspace.created) or prefixes ending with a dot (dek.)',
      });
      return z.NEVER;
    }
    return {
      actions: items.filter((i) => !i.endsWith('.')),
      actionPrefixes: items.filter((i) => i.endsWith('.')),
    };
  });

/** An ISO 8601 instant with a time and a zone (`2026-12-05T10:00:00Z`, `…+01:00`). */
const instant = z
  .string()
  .datetime({ offset: true })
  .optional()
  .transform((v) => (v === undefined ? undefined : new Date(v)));

/** The query strings of the list routes: filters, sort keys and paging (unknown parameters are a 400). */
export const listQueries = {
  workspaces: listQuery(['createdAt', 'name'], 'createdAt', 'asc', {
    q: search,
    keyState: listOf(KEY_STATES),
    keyConfigurationId: z.string().uuid().optional(),
    degraded: queryBoolean,
    id: uuidList(200),
  }),
  keyConfigurations: listQuery(['createdAt', 'name'], 'createdAt', 'asc', {
    q: search,
    provider: listOf(['aws', 'azure', 'gcp'] as const),
    status: listOf(['valid', 'invalid'] as const),
  }),
  servicePrincipals: listQuery(['createdAt', 'name'], 'createdAt', 'asc', { q: search, disabled: queryBoolean }),
  /**
   * The audit log: filters, order by sequence number, the sealed cursor, and `after` (events with a greater sequence
   * number) for clients that paged by number. Pages go up to 1,000 events (an export-sized read stays one call).
   */
  auditEvents: z
    .object({
      action: auditActions,
      actor: z
        .string()
        .min(1)
        .max(200)
        .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters')
        .optional(),
      workspaceId: z
        .string()
        .uuid()
        .optional()
        .transform((v) => v?.toLowerCase()),
      from: instant,
      to: instant,
      after: z.coerce.number().int().min(0).optional(),
      order: z.enum(['asc', 'desc']).default('asc'),
      cursor: z.string().min(1).max(1024).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    })
    .strict(),
};
