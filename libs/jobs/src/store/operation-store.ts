import type { DataSource } from 'typeorm';
import { withSql, Sql } from './sql';

export type OperationState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface OperationRow {
  readonly id: string;
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly kind: string;
  readonly state: OperationState;
  readonly step: string | null;
  readonly attempts: number;
  readonly progressDone: number;
  readonly progressTotal: number;
  readonly targetKeyConfigurationId: string | null;
  readonly params: Record<string, unknown>;
  readonly error: string | null;
  readonly updatedAt: Date;
}

const COLUMNS = `id, tenant_id AS "tenantId", workspace_id AS "workspaceId", kind, state, step, attempts,
  progress_done AS "progressDone", progress_total AS "progressTotal",
  target_key_configuration_id AS "targetKeyConfigurationId", params, error, updated_at AS "updatedAt"`;

function normalise(r: OperationRow): OperationRow {
  return {
    ...r,
    attempts: Number(r.attempts ?? 0),
    progressDone: Number(r.progressDone ?? 0),
    progressTotal: Number(r.progressTotal ?? 0),
    params: (r.params ?? {}) as Record<string, unknown>,
  };
}

/**
 * The durable record of every long operation. BullMQ only executes; this row says what
 * the operation is, how far it got (step, progress) and how it ended. Every transition is a compare-and-set on
 * the state so a late, duplicate job can never move a finished operation.
 */
export class OperationStore {
  constructor(private readonly ds: DataSource) {}

  async find(tenantId: string, operationId: string): Promise<OperationRow | null> {
    return withSql(this.ds, (sql) => this.findWith(sql, tenantId, operationId));
  }

  async findWith(sql: Sql, tenantId: string, operationId: string): Promise<OperationRow | null> {
    const rows = await sql.rows<OperationRow>(`SELECT ${COLUMNS} FROM operations WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      operationId,
    ]);
    return rows[0] ? normalise(rows[0]) : null;
  }

  /** queued|running → running, one more attempt. Null when the operation is already finished (a duplicate job). */
  async begin(tenantId: string, operationId: string): Promise<OperationRow | null> {
    return withSql(this.ds, async (sql) => {
      const rows = await sql.rows<OperationRow>(
        `UPDATE operations SET state = 'running', attempts = attempts + 1, error = NULL, updated_at = now(),
           started_at = COALESCE(started_at, now())
         WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running')
         RETURNING ${COLUMNS}`,
        [tenantId, operationId],
      );
      return rows[0] ? normalise(rows[0]) : null;
    });
  }

  /** Record the step reached (checkpoint for operators and for re-runs), optionally merging params. */
  async recordStep(tenantId: string, operationId: string, step: string, params?: Record<string, unknown>, sql?: Sql): Promise<void> {
    const run = (s: Sql) =>
      s.affected(
        `UPDATE operations SET step = $3, params = params || $4::jsonb, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
        [tenantId, operationId, step, JSON.stringify(params ?? {})],
      );
    if (sql) await run(sql);
    else await withSql(this.ds, run);
  }

  /** Progress (and optionally the step reached with its checkpoint), in the caller's transaction. */
  async setProgress(
    sql: Sql,
    tenantId: string,
    operationId: string,
    done: number,
    total: number,
    checkpoint?: { step: string } & Record<string, unknown>,
  ): Promise<void> {
    const { step, ...params } = checkpoint ?? { step: null };
    await sql.affected(
      `UPDATE operations SET progress_done = $3, progress_total = $4, updated_at = now(),
         step = COALESCE($5, step), params = params || $6::jsonb
       WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
      [tenantId, operationId, done, total, step, JSON.stringify(params)],
    );
  }

  /**
   * Add `n` to the progress (concurrent batch transactions commit in any order; an increment never goes
   * backwards), capped to the total, which grows if DEKs were created meanwhile.
   */
  async addProgress(
    sql: Sql,
    tenantId: string,
    operationId: string,
    n: number,
    total: number,
    checkpoint: { step: string } & Record<string, unknown>,
  ): Promise<void> {
    const { step, ...params } = checkpoint;
    await sql.affected(
      `UPDATE operations SET progress_done = progress_done + $3,
         progress_total = GREATEST($4, progress_total, progress_done + $3), updated_at = now(),
         step = $5, params = params || $6::jsonb
       WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
      [tenantId, operationId, n, total, step, JSON.stringify(params)],
    );
  }

  /** Transient trouble: keep the operation running, say why it is waiting. */
  async noteWaiting(tenantId: string, operationId: string, reason: string): Promise<void> {
    await withSql(this.ds, (sql) =>
      sql.affected(
        `UPDATE operations SET error = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
        [tenantId, operationId, reason.slice(0, 1000)],
      ),
    );
  }

  async succeed(tenantId: string, operationId: string, result: Record<string, unknown> = {}, sql?: Sql): Promise<boolean> {
    const run = async (s: Sql) =>
      (await s.affected(
        `UPDATE operations SET state = 'succeeded', error = NULL, step = 'done', params = params || jsonb_build_object('result', $3::jsonb),
           updated_at = now(), finished_at = now()
         WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running')`,
        [tenantId, operationId, JSON.stringify(result)],
      )) === 1;
    return sql ? run(sql) : withSql(this.ds, run);
  }

  async fail(tenantId: string, operationId: string, error: string, sql?: Sql): Promise<boolean> {
    const run = async (s: Sql) =>
      (await s.affected(
        `UPDATE operations SET state = 'failed', error = $3, updated_at = now(), finished_at = now()
         WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running')`,
        [tenantId, operationId, error.slice(0, 2000)],
      )) === 1;
    return sql ? run(sql) : withSql(this.ds, run);
  }

  /** An unfinished operation of this kind for the workspace, so triggers do not pile up duplicates. */
  async findUnfinished(sql: Sql, tenantId: string, workspaceId: string, kinds: readonly string[]): Promise<OperationRow | null> {
    const rows = await sql.rows<OperationRow>(
      `SELECT ${COLUMNS} FROM operations
       WHERE tenant_id = $1 AND workspace_id = $2 AND kind = ANY($3) AND state IN ('queued', 'running')
       ORDER BY created_at LIMIT 1`,
      [tenantId, workspaceId, kinds],
    );
    return rows[0] ? normalise(rows[0]) : null;
  }

  /**
   * Create an operation the worker itself decided on (scheduled rotation, probe escalation), or return the
   * unfinished one of the same kind for the workspace: the partial unique index makes triggers idempotent.
   */
  async createOrFindUnfinished(
    sql: Sql,
    input: { tenantId: string; workspaceId: string; kind: string; targetKeyConfigurationId?: string | null; params?: Record<string, unknown>; requestedBy: string },
  ): Promise<{ op: OperationRow; created: boolean }> {
    const rows = await sql.rows<OperationRow>(
      `INSERT INTO operations (id, tenant_id, workspace_id, kind, state, params, target_key_configuration_id, requested_by)
       VALUES (gen_random_uuid(), $1, $2, $3, 'queued', $4::jsonb, $5, $6)
       ON CONFLICT (workspace_id, kind) WHERE state IN ('queued', 'running') DO NOTHING
       RETURNING ${COLUMNS}`,
      [input.tenantId, input.workspaceId, input.kind, JSON.stringify(input.params ?? {}), input.targetKeyConfigurationId ?? null, input.requestedBy],
    );
    if (rows[0]) return { op: normalise(rows[0]), created: true };
    const existing = await this.findUnfinished(sql, input.tenantId, input.workspaceId, [input.kind]);
    if (!existing) throw new Error('operation neither created nor found (it finished in between); retry the trigger');
    return { op: existing, created: false };
  }

  /**
   * Unfinished operations not touched for `staleMs` — the reconciler's work list. Cross-tenant by design: it is
   * the platform's own housekeeping and only ever re-enqueues ids.
   */
  async listStale(staleMs: number, limit = 500): Promise<Array<Pick<OperationRow, 'id' | 'tenantId' | 'kind' | 'state'>>> {
    return withSql(this.ds, (sql) =>
      sql.rows(
        `SELECT id, tenant_id AS "tenantId", kind, state FROM operations
         WHERE state IN ('queued', 'running') AND updated_at < now() - ($1::double precision * interval '1 millisecond')
         ORDER BY updated_at LIMIT $2`,
        [staleMs, limit],
      ),
    );
  }

  /** Keep the row fresh while a long job runs, so the reconciler can tell "slow" from "lost". */
  async touch(tenantId: string, operationId: string): Promise<void> {
    await withSql(this.ds, (sql) =>
      sql.affected(`UPDATE operations SET updated_at = now() WHERE tenant_id = $1 AND id = $2 AND state = 'running'`, [
        tenantId,
        operationId,
      ]),
    );
  }
}
