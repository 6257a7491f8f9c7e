import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { cursorText, keysetPage, KeysetPage, orderBy, SortColumn, Where } from './keyset';
import { affected, one, Queryable, rows } from './sql';

const HISTORY_SORT: SortColumn = { sql: 'created_at', type: 'timestamptz' };

export type OperationKindName = 'cmk-rewrap' | 'rekey' | 'kek-rotation' | 'revocation-check' | 'reinstate';
export type OperationState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface OperationRow {
  id: string;
  tenantId: string;
  workspaceId: string;
  kind: OperationKindName;
  state: OperationState;
  /** The last step reached: the checkpoint a re-run starts from, and what operators see. */
  step: string | null;
  attempts: number;
  progressDone: number;
  progressTotal: number;
  error: string | null;
  targetKeyConfigurationId: string | null;
  /** The handler's inputs and checkpoints (never key material). */
  params: Record<string, unknown>;
  /** What a succeeded operation reports (the handler's result, e.g. the KEK versions it rewrapped); null otherwise. */
  result: Record<string, unknown> | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

const OP = `id, tenant_id AS "tenantId", workspace_id AS "workspaceId", kind, state, step, attempts,
  progress_done::float8 AS "progressDone", progress_total::float8 AS "progressTotal", error,
  target_key_configuration_id AS "targetKeyConfigurationId", params,
  CASE WHEN state = 'succeeded' THEN params->'result' END AS result,
  created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;

const UNFINISHED = `state IN ('queued', 'running')`;

/** An operation as its history lists it: who asked, when it started, and the keyset of the next page. */
export interface OperationHistoryRow extends OperationRow {
  requestedBy: string | null;
  startedAt: Date | null;
}

export interface OperationHistoryQuery {
  workspaceId?: string;
  kinds?: readonly OperationKindName[];
  states?: readonly OperationState[];
  /** Continue after this row (newest first): what `next` of the previous page carried. */
  after?: { value: string; id: string };
  limit: number;
}

/**
 * The durable record of every long operation. BullMQ only executes; this row says what the operation is, how far
 * it got (step, progress) and how it ended. Every transition is a compare-and-set on the state, so a late,
 * duplicate job can never move a finished operation.
 */
export class OperationRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Creates a queued operation, or returns the unfinished one of the same kind for the workspace (the partial
   * unique index makes this race-free): repeated requests and triggers converge on one operation.
   */
  async createOrGetUnfinished(
    tenantId: string,
    o: {
      id?: string;
      workspaceId: string;
      kind: OperationKindName;
      targetKeyConfigurationId?: string | null;
      params?: object;
      requestedBy?: string;
    },
    db: Queryable = this.ds,
  ): Promise<{ operation: OperationRow; created: boolean }> {
    const inserted = await one<OperationRow>(
      db,
      `INSERT INTO operations (id, tenant_id, workspace_id, kind, target_key_configuration_id, params, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
       ON CONFLICT (workspace_id, kind) WHERE ${UNFINISHED} DO NOTHING
       RETURNING ${OP}`,
      [
        o.id ?? randomUUID(),
        tenantId,
        o.workspaceId,
        o.kind,
        o.targetKeyConfigurationId ?? null,
        JSON.stringify(o.params ?? {}),
        o.requestedBy ?? null,
      ],
    );
    if (inserted) return { operation: inserted, created: true };
    const existing = await one<OperationRow>(
      db,
      `SELECT ${OP} FROM operations WHERE tenant_id = $1 AND workspace_id = $2 AND kind = $3 AND ${UNFINISHED}`,
      [tenantId, o.workspaceId, o.kind],
    );
    if (!existing) throw new Error('operation neither inserted nor found (concurrent finish); retry');
    return { operation: existing, created: false };
  }

  find(tenantId: string, id: string): Promise<OperationRow | null> {
    return one<OperationRow>(this.ds, `SELECT ${OP} FROM operations WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  }

  listUnfinished(tenantId: string, workspaceId: string): Promise<OperationRow[]> {
    return rows<OperationRow>(
      this.ds,
      `SELECT ${OP} FROM operations WHERE tenant_id = $1 AND workspace_id = $2 AND ${UNFINISHED} ORDER BY created_at`,
      [tenantId, workspaceId],
    );
  }

  /**
   * Unfinished operations across all tenants, for /metrics only (counts and ages, no tenant data): per kind and
   * state, how many, how many nobody has touched for `stalledAfterSeconds` (running jobs heartbeat their row), and the
   * age of the oldest.
   */
  unfinishedStats(
    stalledAfterSeconds: number,
  ): Promise<Array<{ kind: string; state: string; n: number; stalled: number; oldestSeconds: number }>> {
    return rows(
      this.ds,
      `SELECT kind, state, count(*)::int AS n,
         count(*) FILTER (WHERE updated_at < now() - make_interval(secs => $1))::int AS stalled,
         COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS "oldestSeconds"
       FROM operations WHERE ${UNFINISHED} GROUP BY kind, state`,
      [stalledAfterSeconds],
    );
  }

  /**
   * Unfinished operations not touched for `staleMs`: the reconciler's work list. Cross-tenant by design: it is the
   * platform's own housekeeping and only ever re-enqueues ids.
   */
  listStale(staleMs: number, limit = 500): Promise<Array<Pick<OperationRow, 'id' | 'tenantId' | 'kind' | 'state'>>> {
    return rows(
      this.ds,
      `SELECT id, tenant_id AS "tenantId", kind, state FROM operations
       WHERE ${UNFINISHED} AND updated_at < now() - ($1::double precision * interval '1 millisecond')
       ORDER BY updated_at LIMIT $2`,
      [staleMs, limit],
    );
  }

  /**
   * How long ago the operation was requested, measured by Postgres alone (created_at and clock_timestamp() on one
   * clock), so clock skew between the API, the database and the worker does not matter. 0 when it is unknown.
   */
  async ageMs(tenantId: string, id: string): Promise<number> {
    const r = await one<{ ageMs: number }>(
      this.ds,
      `SELECT (extract(epoch FROM clock_timestamp() - created_at) * 1000)::float8 AS "ageMs" FROM operations WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return Math.max(0, Number(r?.ageMs ?? 0));
  }

  /** queued|running → running, one more attempt. Null when the operation is already finished (a duplicate job). */
  begin(tenantId: string, id: string): Promise<OperationRow | null> {
    return one<OperationRow>(
      this.ds,
      `UPDATE operations SET state = 'running', attempts = attempts + 1, error = NULL, updated_at = now(),
         started_at = COALESCE(started_at, now())
       WHERE tenant_id = $1 AND id = $2 AND ${UNFINISHED}
       RETURNING ${OP}`,
      [tenantId, id],
    );
  }

  /** Record the step reached (checkpoint for operators and for re-runs), merging `params`; in `db`'s transaction if given. */
  async recordStep(
    tenantId: string,
    id: string,
    step: string,
    params: Record<string, unknown> = {},
    db: Queryable = this.ds,
  ): Promise<void> {
    await db.query(
      `UPDATE operations SET step = $3, params = params || $4::jsonb, updated_at = now()
       WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
      [tenantId, id, step, JSON.stringify(params)],
    );
  }

  /** Sets the progress outright (a run's starting point: what is already done, out of how many). */
  async setProgress(tenantId: string, id: string, done: number, total: number): Promise<void> {
    await this.ds.query(
      `UPDATE operations SET progress_done = $3, progress_total = $4, updated_at = now() WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
      [tenantId, id, done, total],
    );
  }

  /**
   * Adds `n` to the progress in the caller's transaction (concurrent batch transactions commit in any order; an
   * increment never goes backwards), the total growing if DEKs were created meanwhile, with the step reached.
   */
  async addProgress(
    db: Queryable,
    tenantId: string,
    id: string,
    n: number,
    total: number,
    checkpoint: { step: string } & Record<string, unknown>,
  ): Promise<void> {
    const { step, ...params } = checkpoint;
    await db.query(
      `UPDATE operations SET progress_done = progress_done + $3,
         progress_total = GREATEST($4, progress_total, progress_done + $3), updated_at = now(),
         step = $5, params = params || $6::jsonb
       WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
      [tenantId, id, n, total, step, JSON.stringify(params)],
    );
  }

  /** Transient trouble: keep the operation running, say why it is waiting. */
  async noteWaiting(tenantId: string, id: string, reason: string): Promise<void> {
    await this.ds.query(
      `UPDATE operations SET error = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
      [tenantId, id, reason.slice(0, 1000)],
    );
  }

  /** Keep the row fresh while a long job runs, so the reconciler can tell "slow" from "lost". */
  async touch(tenantId: string, id: string): Promise<void> {
    await this.ds.query(
      `UPDATE operations SET updated_at = now() WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
      [tenantId, id],
    );
  }

  async succeed(tenantId: string, id: string, result: Record<string, unknown> = {}): Promise<boolean> {
    return (
      (await affected(
        this.ds,
        `UPDATE operations SET state = 'succeeded', error = NULL, step = 'done', params = params || jsonb_build_object('result', $3::jsonb),
           updated_at = now(), finished_at = now()
         WHERE tenant_id = $1 AND id = $2 AND ${UNFINISHED}`,
        [tenantId, id, JSON.stringify(result)],
      )) === 1
    );
  }

  async fail(tenantId: string, id: string, error: string): Promise<boolean> {
    return (
      (await affected(
        this.ds,
        `UPDATE operations SET state = 'failed', error = $3, updated_at = now(), finished_at = now() WHERE tenant_id = $1 AND id = $2 AND ${UNFINISHED}`,
        [tenantId, id, error.slice(0, 2000)],
      )) === 1
    );
  }

  /**
   * The server-side history of a tenant's operations (rotations, re-keys, probes, reinstates), newest first, paged by
   * keyset on (created_at, id) so a page costs the same at any depth (index operations_tenant_history_idx). Always
   * scoped by tenant.
   */
  async history(tenantId: string, q: OperationHistoryQuery): Promise<KeysetPage<OperationHistoryRow>> {
    const w = new Where().add('tenant_id = ?', tenantId);
    if (q.workspaceId) w.add('workspace_id = ?', q.workspaceId);
    if (q.kinds?.length) w.add('kind = ANY(?::text[])', q.kinds);
    if (q.states?.length) w.add('state = ANY(?::text[])', q.states);
    if (q.after) w.after(HISTORY_SORT, 'id', 'desc', q.after);
    return keysetPage<OperationHistoryRow>(
      this.ds,
      w,
      q.limit,
      (
        where,
        limit,
      ) => `SELECT ${OP}, requested_by AS "requestedBy", started_at AS "startedAt", ${cursorText(HISTORY_SORT)} AS "cursorValue"
         FROM operations WHERE ${where} ${orderBy(HISTORY_SORT, 'id', 'desc')} LIMIT ${limit}`,
    );
  }
}
