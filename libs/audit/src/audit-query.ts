/**
 * The audit list's filters as one SQL statement (GET …/audit-events). Pages are keyset pages by sequence number:
 * `seq > last` oldest first, `seq < last` newest first, so an event appended while someone pages never shifts a page.
 * Each filter has an index ending in seq (migration 1764800000200), so a filtered page reads the matching events,
 * not the tenant's whole log.
 */

/**
 * The workspace an event is about: the `workspace:<id>` target of admin events, or `details.workspaceId` of provider
 * calls. It must stay the same expression as the index `audit_events_workspace_idx` (the planner matches it by
 * structure); the EXPLAIN test in test/e2e/audit-list.test.ts fails when they drift apart.
 */
export const AUDIT_WORKSPACE_SQL = `COALESCE(details->>'workspaceId', CASE WHEN left(target, 10) = 'workspace:' THEN substr(target, 11) END)`;

export interface AuditFilter {
  /** Exact actions (`workspace.created`). */
  readonly actions?: readonly string[];
  /** Action prefixes ending with a dot (`dek.` matches `dek.issued`, `dek.access_denied`). */
  readonly actionPrefixes?: readonly string[];
  /** Exact actor (`admin:<id>`, `service_principal:<id>`, `system`). */
  readonly actor?: string;
  /** Lower-case workspace id. */
  readonly workspaceId?: string;
  /** Events at or after this instant. */
  readonly from?: Date;
  /** Events before this instant. */
  readonly to?: Date;
  /** Events with a greater sequence number (the route's `after`, kept for clients that paged by number). */
  readonly afterSeq?: number;
}

export interface AuditListQuery {
  readonly filter: AuditFilter;
  readonly order: 'asc' | 'desc';
  /** The last sequence number of the previous page. */
  readonly last?: number;
  readonly limit: number;
}

/** A prefix as a LIKE pattern: `_` and `%` are escaped, so `key_configuration.` matches only itself. */
const likePrefix = (p: string) => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The statement and its parameters for one page (limit + 1 rows, to know whether another page follows). */
export function auditListStatement(tenantId: string, q: AuditListQuery): { text: string; params: unknown[] } {
  const params: unknown[] = [tenantId];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = ['tenant_id = $1'];
  const f = q.filter;
  const actionTerms: string[] = [];
  if (f.actions?.length) actionTerms.push(`action = ANY(${p([...f.actions])}::text[])`);
  for (const prefix of f.actionPrefixes ?? []) actionTerms.push(`action LIKE ${p(likePrefix(prefix))}`);
  if (actionTerms.length) where.push(`(${actionTerms.join(' OR ')})`);
  if (f.actor !== undefined) where.push(`actor = ${p(f.actor)}`);
  if (f.workspaceId !== undefined) where.push(`${AUDIT_WORKSPACE_SQL} = ${p(f.workspaceId)}`);
  if (f.from) where.push(`at >= ${p(f.from.toISOString())}::timestamptz`);
  if (f.to) where.push(`at < ${p(f.to.toISOString())}::timestamptz`);
  if (f.afterSeq !== undefined) where.push(`seq > ${p(f.afterSeq)}`);
  if (q.last !== undefined) where.push(`seq ${q.order === 'asc' ? '>' : '<'} ${p(q.last)}`);
  const text = `SELECT seq::float8 AS seq, at, actor, action, target, outcome, details, prev_hash AS "prevHash", hash, mac
       FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq ${q.order.toUpperCase()} LIMIT ${p(q.limit + 1)}`;
  return { text, params };
}
