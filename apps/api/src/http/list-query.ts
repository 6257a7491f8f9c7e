import { z, ZodRawShape } from 'zod';

/** The largest page any list route returns; the default is 50. */
export const MAX_PAGE = 200;

/** `key=a,b` or `key=a&key=b`: every value must be one of `values`. */
export const listOf = <T extends string>(values: readonly T[]) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const items = (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).filter(Boolean);
      for (const i of items)
        if (!(values as readonly string[]).includes(i)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be one of ${values.join(', ')}` });
          return z.NEVER;
        }
      return items as T[];
    });

/** `id=a,b` or `id=a&id=b`: up to `max` UUIDs (lower-cased). */
export const uuidList = (max: number) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const items = (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).filter(Boolean);
      if (items.length > max || items.some((i) => !z.string().uuid().safeParse(i).success)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `at most ${max} workspace ids (UUIDs)` });
        return z.NEVER;
      }
      return items.map((i) => i.toLowerCase());
    });

/** `true` / `false` only (a query string has no booleans; `1`, `yes` or an empty value are refused). */
export const queryBoolean = z
  .enum(['true', 'false'])
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true'));

/** A name search: a substring, at most 100 characters, no NUL (Postgres text cannot hold one). */
export const search = z
  .string()
  .max(100)
  .refine((v) => !v.includes('\u0000'), 'must not contain NUL characters')
  .optional()
  .transform((v) => v?.trim() || undefined);

/** The paging part of every list query, with the route's own sort keys; unknown parameters are refused. */
export function listQuery<S extends string, F extends ZodRawShape>(
  sorts: readonly [S, ...S[]],
  defaultSort: S,
  defaultOrder: 'asc' | 'desc',
  filters: F,
) {
  return z
    .object({
      ...filters,
      sort: z.enum(sorts).default(defaultSort),
      order: z.enum(['asc', 'desc']).default(defaultOrder),
      cursor: z.string().min(1).max(1024).optional(),
      limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
    })
    .strict();
}
