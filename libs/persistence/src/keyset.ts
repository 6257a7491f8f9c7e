/**
 * Keyset paging, one helper for every list of the admin API (workspaces, key configurations, service principals,
 * operations). A page is `WHERE <filters> AND (sort_key, id) > (last row's keys) ORDER BY sort_key, id LIMIT n`:
 * with an index on (tenant_id, sort_key, id) every page is one index range scan, so page 1,000 costs what page 1
 * does and a row inserted meanwhile never shifts a page (OFFSET would skip or repeat rows).
 */
import type { Queryable } from './sql';
import { rows } from './sql';

export type SortDirection = 'asc' | 'desc';

/** The sort keys of a list: name and creation time, each indexed on (tenant_id, key, id). */
export const nameAndCreationSorts = (prefix = '') =>
  ({
    name: { sql: `${prefix}name`, type: 'text' },
    createdAt: { sql: `${prefix}created_at`, type: 'timestamptz' },
  }) as const satisfies Record<string, SortColumn>;

/** The paging part of a list query: sort key and direction, the last row's key and id, the page size. */
export interface ListPaging<S extends string> {
  sort: S;
  direction: SortDirection;
  after?: { value: string; id: string };
  limit: number;
}

/** A sortable column: its SQL expression and how its value travels in a cursor (text; timestamps at microseconds). */
export interface SortColumn {
  /** SQL expression of the key (qualified if the query joins). */
  readonly sql: string;
  /** Postgres type the cursor's text is cast to when it comes back. */
  readonly type: 'text' | 'timestamptz';
}

/** Column values of the cursor as text: timestamps at full precision, so no row is skipped or repeated. */
export const cursorText = (c: SortColumn) =>
  c.type === 'timestamptz'
    ? `to_char((${c.sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
    : `(${c.sql})::text`;

/** Builds the WHERE clause and its parameters in one place, so every value is a bind parameter. */
export class Where {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  /** `sql` with `?` standing for the value's parameter. */
  add(sql: string, value: unknown): this {
    this.params.push(value);
    this.parts.push(sql.replace('?', `$${this.params.length}`));
    return this;
  }

  raw(sql: string): this {
    this.parts.push(sql);
    return this;
  }

  /** Rows strictly after the cursor's keys in the page order (row comparison matches the index order). */
  after(sort: SortColumn, idSql: string, direction: SortDirection, keys: { value: string; id: string }): this {
    this.params.push(keys.value, keys.id);
    const n = this.params.length;
    this.parts.push(
      `(${sort.sql}, ${idSql}) ${direction === 'asc' ? '>' : '<'} ($${n - 1}::${sort.type}, $${n}::uuid)`,
    );
    return this;
  }

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  get sql(): string {
    return this.parts.join(' AND ');
  }
}

/** Escapes LIKE's wildcards so a search for `50%_off` matches those characters, not any. */
export const likeContains = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export interface KeysetPage<T> {
  items: T[];
  /** Keys of the last row when another page follows, else null. */
  last: { value: string; id: string } | null;
}

/**
 * Runs `select` (which must end with `ORDER BY … LIMIT <limitParam>` and select `"cursorValue"` and `id`) asking
 * for one row more than the page, to know whether a next page exists without a count.
 */
export async function keysetPage<R extends { id: string }>(
  db: Queryable,
  where: Where,
  limit: number,
  select: (whereSql: string, limitParam: string) => string,
): Promise<KeysetPage<R>> {
  const limitParam = where.param(limit + 1);
  const found = await rows<R & { cursorValue: string }>(db, select(where.sql, limitParam), where.params);
  const page = found.slice(0, limit);
  const tail = page[page.length - 1];
  const last = found.length > limit && tail ? { value: tail.cursorValue, id: tail.id } : null;
  // The keyset travels in the cursor only, never in the response rows.
  for (const r of page) Reflect.deleteProperty(r, 'cursorValue');
  const items: R[] = page;
  return { items, last };
}

export const orderBy = (sort: SortColumn, idSql: string, direction: SortDirection) =>
  `ORDER BY ${sort.sql} ${direction.toUpperCase()}, ${idSql} ${direction.toUpperCase()}`;

/**
 * One page of `table` sorted by `sort` then id: the columns, the sort key as "cursorValue" for the next cursor, the
 * page's WHERE and ORDER BY, one row more than the page (keysetPage). The paged lists' one query shape.
 */
export function sortedPage<R extends { id: string }>(
  db: Queryable,
  from: { columns: string; table: string; idSql?: string },
  where: Where,
  sort: SortColumn,
  q: { direction: SortDirection; limit: number },
): Promise<KeysetPage<R>> {
  const idSql = from.idSql ?? 'id';
  return keysetPage<R>(
    db,
    where,
    q.limit,
    (w, limit) =>
      `SELECT ${from.columns}, ${cursorText(sort)} AS "cursorValue" FROM ${from.table} WHERE ${w} ${orderBy(sort, idSql, q.direction)} LIMIT ${limit}`,
  );
}
