import type { DataSource } from 'typeorm';
import { one, Queryable, rows } from './sql';

export interface KekVersionRow {
  tenantId: string;
  workspaceId: string;
  version: number;
  keyConfigurationId: string;
  /** The KEK wrapped under the customer key (opaque provider ciphertext). Only live versions are read (retired ones have none). */
  wrapped: Buffer;
  providerKeyVersion: string | null;
  state: 'active' | 'retiring' | 'retired';
  wrapCount: number;
  kcv: Buffer;
  createdAt: Date;
}

const KEK = `tenant_id AS "tenantId", workspace_id AS "workspaceId", version, key_configuration_id AS "keyConfigurationId",
  wrapped, provider_key_version AS "providerKeyVersion", state, wrap_count::float8 AS "wrapCount", kcv, created_at AS "createdAt"`;

export class KekVersionRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    db: Queryable,
    tenantId: string,
    k: { workspaceId: string; version: number; keyConfigurationId: string; wrapped: Buffer; providerKeyVersion: string | null; kcv: Buffer; state: 'active' | 'retiring' },
  ): Promise<void> {
    await db.query(
      `INSERT INTO kek_versions (tenant_id, workspace_id, version, key_configuration_id, wrapped, provider_key_version, state, kcv)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [tenantId, k.workspaceId, k.version, k.keyConfigurationId, k.wrapped, k.providerKeyVersion, k.state, k.kcv],
    );
  }

  /** A live (active or retiring) version; a retired one keeps no wrapped form, so there is nothing to find. */
  find(tenantId: string, workspaceId: string, version: number, db: Queryable = this.ds): Promise<KekVersionRow | null> {
    return one<KekVersionRow>(db, `SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND state <> 'retired'`, [
      tenantId,
      workspaceId,
      version,
    ]);
  }

  /** The versions DEKs may still be under (active and retiring). */
  findLive(tenantId: string, workspaceId: string): Promise<KekVersionRow[]> {
    return rows<KekVersionRow>(this.ds, `SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND state IN ('active', 'retiring')`, [
      tenantId,
      workspaceId,
    ]);
  }

  findActive(tenantId: string, workspaceId: string): Promise<KekVersionRow | null> {
    return one<KekVersionRow>(this.ds, `SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND state = 'active'`, [
      tenantId,
      workspaceId,
    ]);
  }

  /**
   * Reserves up to `n` wraps on a KEK version (one UPDATE per chunk, not per DEK) without ever taking the count
   * past `cap`. The grant is what the database says: the row is locked and the grant computed from its latest
   * value, so concurrent reservers on any replica can never exceed the cap together.
   */
  async reserveWraps(tenantId: string, workspaceId: string, version: number, n: number, cap: number): Promise<{ granted: number; count: number }> {
    const r = await one<{ c: number; g: number }>(
      this.ds,
      `UPDATE kek_versions k SET wrap_count = k.wrap_count + g.n
       FROM (SELECT LEAST($4::bigint, GREATEST($5::bigint - wrap_count, 0)) AS n FROM kek_versions
             WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 FOR UPDATE) g
       WHERE k.tenant_id = $1 AND k.workspace_id = $2 AND k.version = $3
       RETURNING k.wrap_count::float8 AS c, g.n::float8 AS g`,
      [tenantId, workspaceId, version, n, cap],
    );
    if (!r) throw new Error('KEK version not found while reserving wraps');
    return { granted: Number(r.g), count: Number(r.c) };
  }
}

export interface DekRow {
  id: string;
  segmentId: string;
  kekVersion: number;
  wrapped: Buffer;
}

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
      [tenantId, workspaceId, items.map((i) => i.id), items.map((i) => i.segmentId), items.map((i) => i.kekVersion), items.map((i) => i.wrapped)],
    );
  }
}

export type OperationKindName = 'cmk-rewrap' | 'rekey' | 'kek-rotation' | 'revocation-check' | 'reinstate';

export interface OperationRecord {
  id: string;
  tenantId: string;
  workspaceId: string;
  kind: OperationKindName;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  step: string | null;
  progressDone: number;
  progressTotal: number;
  error: string | null;
  targetKeyConfigurationId: string | null;
  /** What a succeeded operation reports (the handler's result, e.g. the KEK versions it rewrapped); null otherwise. */
  result: Record<string, unknown> | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

const OP = `id, tenant_id AS "tenantId", workspace_id AS "workspaceId", kind, state, step, progress_done::float8 AS "progressDone",
  progress_total::float8 AS "progressTotal", error, target_key_configuration_id AS "targetKeyConfigurationId",
  CASE WHEN state = 'succeeded' THEN params->'result' END AS result,
  created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;

export class OperationRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Creates a queued operation, or returns the unfinished one of the same kind for the workspace (the partial
   * unique index makes this race-free): repeated requests de-duplicate instead of piling up.
   */
  async createOrGetUnfinished(
    tenantId: string,
    o: { id: string; workspaceId: string; kind: OperationKindName; targetKeyConfigurationId?: string | null; params?: object; requestedBy?: string },
    db: Queryable = this.ds,
  ): Promise<{ operation: OperationRecord; created: boolean }> {
    const inserted = await one<OperationRecord>(
      db,
      `INSERT INTO operations (id, tenant_id, workspace_id, kind, target_key_configuration_id, params, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
       ON CONFLICT (workspace_id, kind) WHERE state IN ('queued', 'running') DO NOTHING
       RETURNING ${OP}`,
      [o.id, tenantId, o.workspaceId, o.kind, o.targetKeyConfigurationId ?? null, JSON.stringify(o.params ?? {}), o.requestedBy ?? null],
    );
    if (inserted) return { operation: inserted, created: true };
    const existing = await one<OperationRecord>(
      db,
      `SELECT ${OP} FROM operations WHERE tenant_id = $1 AND workspace_id = $2 AND kind = $3 AND state IN ('queued', 'running')`,
      [tenantId, o.workspaceId, o.kind],
    );
    if (!existing) throw new Error('operation neither inserted nor found (concurrent finish); retry');
    return { operation: existing, created: false };
  }

  find(tenantId: string, id: string): Promise<OperationRecord | null> {
    return one<OperationRecord>(this.ds, `SELECT ${OP} FROM operations WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  }

  /**
   * Unfinished operations across all tenants, for /metrics only (counts and ages, no tenant data): per kind and
   * state, how many, how many nobody has touched for `stalledAfterSeconds` (running jobs heartbeat their row), and the
   * age of the oldest.
   */
  unfinishedStats(stalledAfterSeconds: number): Promise<Array<{ kind: string; state: string; n: number; stalled: number; oldestSeconds: number }>> {
    return rows(
      this.ds,
      `SELECT kind, state, count(*)::int AS n,
         count(*) FILTER (WHERE updated_at < now() - make_interval(secs => $1))::int AS stalled,
         COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS "oldestSeconds"
       FROM operations WHERE state IN ('queued', 'running') GROUP BY kind, state`,
      [stalledAfterSeconds],
    );
  }

  listUnfinished(tenantId: string, workspaceId: string): Promise<OperationRecord[]> {
    return rows<OperationRecord>(
      this.ds,
      `SELECT ${OP} FROM operations WHERE tenant_id = $1 AND workspace_id = $2 AND state IN ('queued', 'running') ORDER BY created_at`,
      [tenantId, workspaceId],
    );
  }
}
