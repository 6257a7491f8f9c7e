import type { Sql } from './sql';

export interface DekBatchRow {
  readonly segmentId: string;
  readonly kekVersion: number;
  readonly wrapped: Buffer;
}

/**
 * DEK rows as KEK rotation needs them: keyset-paged reads (no OFFSET, no re-scanning rows already moved) and one
 * bulk compare-and-set UPDATE per batch. The WHERE on the old kek_version makes each row's update conditional:
 * a row rewrapped by a concurrent or earlier run is left alone, so re-running a batch is harmless.
 */
export class DekRewrapStore {
  async countAll(sql: Sql, tenantId: string, workspaceId: string): Promise<number> {
    const r = await sql.rows<{ n: string }>(`SELECT count(*) AS n FROM deks WHERE tenant_id = $1 AND workspace_id = $2`, [tenantId, workspaceId]);
    return Number(r[0]?.n ?? 0);
  }

  async countOn(sql: Sql, tenantId: string, workspaceId: string, kekVersion: number): Promise<number> {
    const r = await sql.rows<{ n: string }>(
      `SELECT count(*) AS n FROM deks WHERE tenant_id = $1 AND workspace_id = $2 AND kek_version = $3`,
      [tenantId, workspaceId, kekVersion],
    );
    return Number(r[0]?.n ?? 0);
  }

  /**
   * Refreshes the planner's statistics on `deks` when they badly underestimate this workspace (a workspace that grew
   * to hundreds of thousands of DEKs since the last ANALYZE, or a rare very large one among many small ones that is
   * not yet among the most common values). With the estimate at a few dozen rows, each batch UPDATE is planned as a
   * hash join over every DEK of the workspace: measured 300 ms instead of 36 ms per 1,000 rows at 1M DEKs.
   * Returns whether it analyzed. A failure (e.g. a role without the right to ANALYZE) only costs speed.
   */
  async ensureStatistics(sql: Sql, tenantId: string, workspaceId: string, total: number): Promise<boolean> {
    if (total < 20_000) return false;
    const plan = await sql.rows<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM deks WHERE tenant_id = $1 AND workspace_id = $2`,
      [tenantId, workspaceId],
    );
    const estimate = Number(plan[0]?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'] ?? 0);
    if (estimate * 4 >= total) return false;
    await sql.affected(`ANALYZE deks`);
    return true;
  }

  /**
   * The next `limit` DEKs not yet on `newVersion`, in segment order after `afterSegment` (keyset paging). Run it
   * inside a transaction: the plan is pinned to an ordered scan of the (workspace_id, segment_id) index. Left to
   * itself, with statistics taken while the workspace was small (a bulk import, then a rotation), the planner reads
   * every remaining row of the workspace and sorts them for each batch: measured 600 ms per batch at 1M DEKs instead
   * of 1 ms, which makes a rotation quadratic. ensureStatistics fixes the estimate for both this read and the batch
   * UPDATE; the pin still holds where it cannot (no right to ANALYZE, or a workspace outside the sampled common values).
   */
  async nextBatch(
    sql: Sql,
    tenantId: string,
    workspaceId: string,
    newVersion: number,
    afterSegment: string | null,
    limit: number,
  ): Promise<DekBatchRow[]> {
    await sql.rows(`SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)`);
    const rows = await sql.rows<DekBatchRow>(
      `SELECT segment_id AS "segmentId", kek_version AS "kekVersion", wrapped FROM deks
       WHERE tenant_id = $1 AND workspace_id = $2 AND kek_version <> $3 AND ($4::text IS NULL OR segment_id > $4::text)
       ORDER BY segment_id LIMIT $5`,
      [tenantId, workspaceId, newVersion, afterSegment, limit],
    );
    return rows.map((r) => ({ ...r, kekVersion: Number(r.kekVersion) }));
  }

  /** Bulk compare-and-set: each row moves to newVersion only if it is still on the version it was read at. */
  async applyBatch(
    sql: Sql,
    tenantId: string,
    workspaceId: string,
    newVersion: number,
    rows: ReadonlyArray<{ segmentId: string; fromVersion: number; wrapped: Buffer }>,
  ): Promise<number> {
    if (rows.length === 0) return 0;
    return sql.affected(
      `UPDATE deks AS d SET wrapped = v.wrapped, kek_version = $3, updated_at = now()
       FROM unnest($4::text[], $5::int[], $6::bytea[]) AS v(segment_id, from_version, wrapped)
       WHERE d.tenant_id = $1 AND d.workspace_id = $2 AND d.segment_id = v.segment_id AND d.kek_version = v.from_version`,
      [tenantId, workspaceId, newVersion, rows.map((r) => r.segmentId), rows.map((r) => r.fromVersion), rows.map((r) => r.wrapped)],
    );
  }

  /** Every GCM encryption under a KEK counts toward its nonce budget (NIST SP 800-38D §8.3). */
  async addWraps(sql: Sql, tenantId: string, workspaceId: string, version: number, n: number): Promise<void> {
    await sql.affected(
      `UPDATE kek_versions SET wrap_count = wrap_count + $4 WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3`,
      [tenantId, workspaceId, version, n],
    );
  }
}
