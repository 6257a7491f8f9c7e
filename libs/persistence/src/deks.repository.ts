import type { DataSource } from 'typeorm';
import { affected, one, Queryable, rows } from './sql';

export interface DekRow {
  id: string;
  segmentId: string;
  kekVersion: number;
  wrapped: Buffer;
}

/**
 * Per-segment DEKs, wrapped under a KEK version of their workspace. The DEK API reads and creates them
 * (get-or-create in one statement per batch); a KEK rotation moves them to the new version with keyset-paged reads
 * (no OFFSET, no re-scanning rows already moved) and one bulk compare-and-set UPDATE per batch.
 */
export class DekRepository {
  constructor(private readonly ds: DataSource) {}

  findMany(tenantId: string, workspaceId: string, segmentIds: string[]): Promise<DekRow[]> {
    return rows<DekRow>(
      this.ds,
      `SELECT id, segment_id AS "segmentId", kek_version AS "kekVersion", wrapped FROM deks
       WHERE tenant_id = $1 AND workspace_id = $2 AND segment_id = ANY($3::text[])`,
      [tenantId, workspaceId, segmentIds],
    );
  }

  /**
   * Get-or-create in one statement per batch: INSERT … ON CONFLICT DO NOTHING, so concurrent creators of one
   * segment race on the unique (workspace_id, segment_id) and exactly one row wins. Returns only the rows this
   * call inserted; the caller re-reads the losers.
   */
  insertIfAbsent(
    tenantId: string,
    workspaceId: string,
    items: Array<{ id: string; segmentId: string; kekVersion: number; wrapped: Buffer }>,
    db: Queryable = this.ds,
  ): Promise<DekRow[]> {
    return rows<DekRow>(
      db,
      `INSERT INTO deks (id, tenant_id, workspace_id, segment_id, kek_version, wrapped)
       SELECT i, $1, $2, s, v, w FROM unnest($3::uuid[], $4::text[], $5::int[], $6::bytea[]) AS t(i, s, v, w)
       ON CONFLICT (workspace_id, segment_id) DO NOTHING
       RETURNING id, segment_id AS "segmentId", kek_version AS "kekVersion", wrapped`,
      [
        tenantId,
        workspaceId,
        items.map((i) => i.id),
        items.map((i) => i.segmentId),
        items.map((i) => i.kekVersion),
        items.map((i) => i.wrapped),
      ],
    );
  }

  /** How many DEKs the workspace has, or (with `kekVersion`) how many are under that KEK version. */
  async count(tenantId: string, workspaceId: string, kekVersion?: number): Promise<number> {
    const r = await one<{ n: number }>(
      this.ds,
      `SELECT count(*)::float8 AS n FROM deks WHERE tenant_id = $1 AND workspace_id = $2 AND ($3::int IS NULL OR kek_version = $3)`,
      [tenantId, workspaceId, kekVersion ?? null],
    );
    return Number(r?.n ?? 0);
  }

  /**
   * Refreshes the planner's statistics on `deks` when they badly underestimate this workspace (a workspace that grew
   * to hundreds of thousands of DEKs since the last ANALYZE, or a rare very large one among many small ones that is
   * not yet among the most common values). With the estimate at a few dozen rows, each batch UPDATE is planned as a
   * hash join over every DEK of the workspace: measured 300 ms instead of 36 ms per 1,000 rows at 1M DEKs.
   * Returns whether it analyzed. A failure (e.g. a role without the right to ANALYZE) only costs speed.
   */
  async ensureStatistics(tenantId: string, workspaceId: string, total: number): Promise<boolean> {
    if (total < 20_000) return false;
    const plan = await one<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
      this.ds,
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM deks WHERE tenant_id = $1 AND workspace_id = $2`,
      [tenantId, workspaceId],
    );
    const estimate = Number(plan?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'] ?? 0);
    if (estimate * 4 >= total) return false;
    await this.ds.query(`ANALYZE deks`);
    return true;
  }

  /**
   * The next `limit` DEKs not yet on `newVersion`, in segment order after `afterSegment` (keyset paging). The read
   * runs in its own transaction with the plan pinned to an ordered scan of the (workspace_id, segment_id) index.
   * Left to itself, with statistics taken while the workspace was small (a bulk import, then a rotation), the
   * planner reads every remaining row of the workspace and sorts them for each batch: measured 600 ms per batch at
   * 1M DEKs instead of 1 ms, which makes a rotation quadratic. ensureStatistics fixes the estimate for both this
   * read and the batch UPDATE; the pin still holds where it cannot (no right to ANALYZE, or a workspace outside the
   * sampled common values).
   */
  nextToRewrap(
    tenantId: string,
    workspaceId: string,
    newVersion: number,
    afterSegment: string | null,
    limit: number,
  ): Promise<DekRow[]> {
    return this.ds.transaction(async (m) => {
      await m.query(`SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)`);
      return rows<DekRow>(
        m,
        `SELECT id, segment_id AS "segmentId", kek_version AS "kekVersion", wrapped FROM deks
         WHERE tenant_id = $1 AND workspace_id = $2 AND kek_version <> $3 AND ($4::text IS NULL OR segment_id > $4::text)
         ORDER BY segment_id LIMIT $5`,
        [tenantId, workspaceId, newVersion, afterSegment, limit],
      );
    });
  }

  /**
   * Bulk compare-and-set, in the caller's transaction: each row moves to newVersion only if it is still on the
   * version it was read at, so a row rewrapped by a concurrent or earlier run is left alone and re-running a batch
   * is harmless. The transaction commits without waiting for the WAL flush: a batch lost by a server crash is
   * simply redone from the rows, and the rotation's final retire commits synchronously and, WAL being sequential,
   * never becomes durable ahead of a lost batch.
   */
  async rewrapBatch(
    db: Queryable,
    tenantId: string,
    workspaceId: string,
    newVersion: number,
    batch: ReadonlyArray<{ segmentId: string; fromVersion: number; wrapped: Buffer }>,
  ): Promise<number> {
    if (batch.length === 0) return 0;
    await db.query(`SET LOCAL synchronous_commit = off`);
    return affected(
      db,
      `UPDATE deks AS d SET wrapped = v.wrapped, kek_version = $3, updated_at = now()
       FROM unnest($4::text[], $5::int[], $6::bytea[]) AS v(segment_id, from_version, wrapped)
       WHERE d.tenant_id = $1 AND d.workspace_id = $2 AND d.segment_id = v.segment_id AND d.kek_version = v.from_version`,
      [
        tenantId,
        workspaceId,
        newVersion,
        batch.map((r) => r.segmentId),
        batch.map((r) => r.fromVersion),
        batch.map((r) => r.wrapped),
      ],
    );
  }
}
