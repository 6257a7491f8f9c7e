import type { DataSource } from 'typeorm';
import type { DekRow } from './deks.repository';
import { one, rows } from './sql';

/** Advisory-lock namespace shared with the deks_refuse_destroyed trigger (migration 1764100000000). */
const SEGMENT_LOCK_SEED = 7411;

export interface SegmentDestroyResult {
  /** A DEK row existed and was deleted (false: the segment was never issued or already destroyed). */
  readonly deleted: boolean;
  /** The tombstone was written by this call (false: it already existed). */
  readonly tombstoned: boolean;
  /** The workspace's kek_generation + segment_epoch after the destroy (the DEK caches' poll baseline). */
  readonly cacheVersion: number;
}

/**
 * Segment tombstones (segment-level crypto-shred) and the per-workspace DEK quota counter. Every query is
 * tenant-scoped.
 */
export class SegmentRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * The DEK rows of the given segments and, in the same round trip, which of them are destroyed. Only the cold
   * path calls this (a cached row is never looked up again).
   */
  async findDeksOrTombstones(
    tenantId: string,
    workspaceId: string,
    segmentIds: string[],
  ): Promise<{ rows: DekRow[]; destroyed: string[] }> {
    const r = await rows<DekRow & { tomb: boolean }>(
      this.ds,
      `SELECT id, segment_id AS "segmentId", kek_version AS "kekVersion", wrapped, false AS tomb FROM deks
       WHERE tenant_id = $1 AND workspace_id = $2 AND segment_id = ANY($3::text[])
       UNION ALL
       SELECT NULL, segment_id, NULL, NULL, true FROM segment_tombstones
       WHERE tenant_id = $1 AND workspace_id = $2 AND segment_id = ANY($3::text[])`,
      [tenantId, workspaceId, segmentIds],
    );
    const out: DekRow[] = [];
    const destroyed: string[] = [];
    for (const x of r) {
      if (x.tomb) destroyed.push(x.segmentId);
      else out.push({ id: x.id, segmentId: x.segmentId, kekVersion: x.kekVersion, wrapped: x.wrapped });
    }
    return { rows: out, destroyed };
  }

  /**
   * What a service principal may do with one workspace: its permissions and whether the workspace is in its
   * scope. Null when the principal does not exist in this tenant or is disabled.
   */
  principalRights(
    tenantId: string,
    servicePrincipalId: string,
    workspaceId: string,
  ): Promise<{ permissions: string[]; inScope: boolean } | null> {
    return one(
      this.ds,
      `SELECT sp.permissions, EXISTS (SELECT 1 FROM service_principal_workspaces spw
                                      WHERE spw.tenant_id = sp.tenant_id AND spw.service_principal_id = sp.id AND spw.workspace_id = $3) AS "inScope"
       FROM service_principals sp WHERE sp.tenant_id = $1 AND sp.id = $2 AND NOT sp.disabled`,
      [tenantId, servicePrincipalId, workspaceId],
    );
  }

  /** Sets a service principal's permissions; null when it does not exist in this tenant. */
  async setPermissions(tenantId: string, servicePrincipalId: string, permissions: string[]): Promise<string[] | null> {
    const r = await one<{ permissions: string[] }>(
      this.ds,
      `UPDATE service_principals SET permissions = $3::text[] WHERE tenant_id = $1 AND id = $2 RETURNING permissions`,
      [tenantId, servicePrincipalId, permissions],
    );
    return r ? r.permissions : null;
  }

  async destroyedAmong(tenantId: string, workspaceId: string, segmentIds: string[]): Promise<string[]> {
    const r = await rows<{ s: string }>(
      this.ds,
      `SELECT segment_id AS s FROM segment_tombstones WHERE tenant_id = $1 AND workspace_id = $2 AND segment_id = ANY($3::text[])`,
      [tenantId, workspaceId, segmentIds],
    );
    return r.map((x) => x.s);
  }

  /**
   * Destroys one segment's DEK for good: exclusive advisory lock on the workspace (a concurrent create holds the
   * shared one, see the trigger; destroys are rare, so they may wait for the workspace's in-flight creations), tombstone, DELETE of the wrapped DEK row, quota slot freed, segment
   * epoch bumped. Null when the workspace does not exist in this tenant.
   */
  async destroy(
    tenantId: string,
    workspaceId: string,
    segmentId: string,
    destroyedBy: string,
  ): Promise<SegmentDestroyResult | null> {
    return this.ds.transaction(async (m) => {
      const ws = await one<{ id: string }>(m, `SELECT id FROM workspaces WHERE tenant_id = $1 AND id = $2`, [
        tenantId,
        workspaceId,
      ]);
      if (!ws) return null;
      await m.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, ${SEGMENT_LOCK_SEED}))`, [workspaceId]);
      const t = await rows(
        m,
        `INSERT INTO segment_tombstones (tenant_id, workspace_id, segment_id, destroyed_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (workspace_id, segment_id) DO NOTHING RETURNING segment_id`,
        [tenantId, workspaceId, segmentId, destroyedBy],
      );
      const d = await rows(
        m,
        `DELETE FROM deks WHERE tenant_id = $1 AND workspace_id = $2 AND segment_id = $3 RETURNING id`,
        [tenantId, workspaceId, segmentId],
      );
      if (d.length)
        await m.query(`UPDATE workspace_dek_counts SET reserved = GREATEST(reserved - $2, 0) WHERE workspace_id = $1`, [
          workspaceId,
          d.length,
        ]);
      const v = await one<{ v: number }>(
        m,
        `UPDATE workspaces SET segment_epoch = segment_epoch + 1 WHERE tenant_id = $1 AND id = $2 RETURNING (kek_generation + segment_epoch)::float8 AS v`,
        [tenantId, workspaceId],
      );
      return { deleted: d.length > 0, tombstoned: t.length > 0, cacheVersion: Number(v!.v) };
    });
  }

  /**
   * Reserves up to `n` DEK slots for a workspace without ever passing `quota`, in one statement that is safe
   * under any concurrency (the upsert row-locks the counter and computes the grant from its latest value).
   * Returns how many slots were granted (0..n).
   */
  async reserveDekSlots(tenantId: string, workspaceId: string, n: number, quota: number): Promise<number> {
    const r = await one<{ g: number }>(
      this.ds,
      `INSERT INTO workspace_dek_counts AS c (workspace_id, tenant_id, reserved, last_grant)
       VALUES ($2, $1, LEAST($3::bigint, $4::bigint), LEAST($3::bigint, $4::bigint))
       ON CONFLICT (workspace_id) DO UPDATE
         SET last_grant = LEAST($3::bigint, GREATEST($4::bigint - c.reserved, 0)),
             reserved = c.reserved + LEAST($3::bigint, GREATEST($4::bigint - c.reserved, 0))
         WHERE c.tenant_id = $1
       RETURNING last_grant::float8 AS g`,
      [tenantId, workspaceId, n, quota],
    );
    return r ? Number(r.g) : 0;
  }

  /** Gives back slots reserved but not used (the segment existed already, or was destroyed). */
  async releaseDekSlots(tenantId: string, workspaceId: string, n: number): Promise<void> {
    if (n <= 0) return;
    await this.ds.query(
      `UPDATE workspace_dek_counts SET reserved = GREATEST(reserved - $3, 0) WHERE tenant_id = $1 AND workspace_id = $2`,
      [tenantId, workspaceId, n],
    );
  }
}
