import type { DataSource, EntityManager } from 'typeorm';

/*
 * Keyhold talks SQL: compare-and-set transitions, row locks, bulk UPDATE … FROM unnest() and keyset paging are
 * the point of these statements, and an ORM would hide exactly what has to be reviewed. TypeORM is the pool, the
 * transactions (DataSource.transaction) and the migration runner; these few functions give every statement a
 * plain answer whatever its kind.
 */

/** Anything that can run a parameterised statement: the DataSource (pooled, autocommit) or a transaction's manager. */
export type Queryable = Pick<DataSource, 'query'> | Pick<EntityManager, 'query'>;

/**
 * Rows of a statement. TypeORM's postgres driver answers UPDATE/DELETE … RETURNING with `[rows, affected]`
 * instead of the rows: normalise so every repository sees rows.
 */
export async function rows<T>(db: Queryable, text: string, params: unknown[] = []): Promise<T[]> {
  const r = (await db.query(text, params)) as unknown;
  if (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && typeof r[1] === 'number') return r[0] as T[];
  return r as T[];
}

/**
 * How many rows an UPDATE or DELETE changed (the compare-and-set answer), or how many rows a statement with
 * RETURNING gave back. A plain INSERT reports 0: give it RETURNING when its count matters.
 */
export async function affected(db: Queryable, text: string, params: unknown[] = []): Promise<number> {
  const r = (await db.query(text, params)) as unknown;
  if (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && typeof r[1] === 'number') return r[1];
  return Array.isArray(r) ? r.length : 0;
}

export async function one<T>(db: Queryable, text: string, params: unknown[] = []): Promise<T | null> {
  return (await rows<T>(db, text, params))[0] ?? null;
}

/** Postgres error code of a failed statement (e.g. 23505 unique_violation), if any. */
export function pgCode(err: unknown): string | undefined {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e?.driverError?.code ?? e?.code;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID_RE.test(s);
