import type { DataSource } from 'typeorm';
import { KeysetPage, likeContains, ListPaging, nameAndCreationSorts, sortedPage, Where } from './keyset';
import { one, Queryable, rows } from './sql';

export const KEY_STATES = [
  'unbound',
  'provisioning',
  'active',
  'rewrapping',
  'rekeying',
  'kek_rotating',
  'access_suspect',
  'shredded',
  'destroyed',
] as const;
export type KeyStateName = (typeof KEY_STATES)[number];

/** States in which a workspace's KEK may be cached and used (DEKs are served). Anything else purges the caches. */
export const KEK_HOLDING_STATES: readonly KeyStateName[] = [
  'active',
  'access_suspect',
  'rewrapping',
  'rekeying',
  'kek_rotating',
];

export interface WorkspaceRow {
  id: string;
  tenantId: string;
  name: string;
  keyState: KeyStateName;
  keyConfigurationId: string | null;
  currentKekVersion: number | null;
  degraded: boolean;
  /** Bumped on every change; compare-and-set token and cache-invalidation marker. */
  stateVersion: number;
  /**
   * Bumped only by events that must drop cached plaintext KEKs on every replica (shred, destroy, re-key, rotation
   * switch and retirement, reinstate); never by degraded or access_suspect flips. Maintained by a trigger
   * (migrations/1764600000000-KekGeneration.ts).
   */
  kekGeneration: number;
  updatedAt: Date;
}

const COLS = `id, tenant_id AS "tenantId", name, key_state AS "keyState", key_configuration_id AS "keyConfigurationId",
  current_kek_version AS "currentKekVersion", degraded, state_version::float8 AS "stateVersion",
  kek_generation::float8 AS "kekGeneration", updated_at AS "updatedAt"`;

/** A (principal, workspace) pair's access-reason policy, read with the DEK path's state + scope row. */
export interface AccessReasonPolicyRow {
  /** The principal's allowed reasons (null when the principal does not exist). */
  readonly principalReasons: string[] | null;
  readonly deniedReasons: string[];
  readonly reasonRequired: boolean;
}

/** Sort keys of the workspace list; each has an index on (tenant_id, key, id) (migration 1764800000000-ListIndexes). */
export const WORKSPACE_SORTS = nameAndCreationSorts();
export type WorkspaceSort = keyof typeof WORKSPACE_SORTS;

export interface WorkspaceListQuery extends ListPaging<WorkspaceSort> {
  /** Case-insensitive substring of the name. */
  search?: string;
  keyStates?: readonly KeyStateName[];
  keyConfigurationId?: string;
  degraded?: boolean;
  ids?: readonly string[];
}

/**
 * A workspace as the DEK path sees it for one service principal ($3): state, the cache generation, whether the
 * principal is scoped to it, and the pair's access-reason policy (key access justifications), in one row.
 */
const PRINCIPAL_VIEW = `SELECT ${COLS}, (kek_generation + segment_epoch)::float8 AS "cacheVersion",
     w.denied_access_reasons AS "deniedReasons", w.access_reason_required AS "reasonRequired",
     (SELECT sp.allowed_access_reasons FROM service_principals sp WHERE sp.tenant_id = w.tenant_id AND sp.id = $3) AS "principalReasons",
     EXISTS (
       SELECT 1 FROM service_principal_workspaces spw JOIN service_principals sp
         ON sp.tenant_id = spw.tenant_id AND sp.id = spw.service_principal_id
       WHERE spw.tenant_id = w.tenant_id AND spw.workspace_id = w.id AND spw.service_principal_id = $3 AND NOT sp.disabled
     ) AS "inScope"
   FROM workspaces w`;

export class WorkspaceRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(tenantId: string, w: { id: string; name: string }, db: Queryable = this.ds): Promise<WorkspaceRow> {
    return (await one<WorkspaceRow>(
      db,
      `INSERT INTO workspaces (id, tenant_id, name) VALUES ($1, $2, $3) RETURNING ${COLS}`,
      [w.id, tenantId, w.name],
    ))!;
  }

  findById(tenantId: string, id: string, db: Queryable = this.ds): Promise<WorkspaceRow | null> {
    return one<WorkspaceRow>(db, `SELECT ${COLS} FROM workspaces WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  }

  /** Row lock for the rest of the transaction `db` belongs to. */
  lockById(db: Queryable, tenantId: string, id: string): Promise<WorkspaceRow | null> {
    return one<WorkspaceRow>(db, `SELECT ${COLS} FROM workspaces WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [
      tenantId,
      id,
    ]);
  }

  /**
   * The DEK API's one query on a cold workspace: state plus whether the service principal is scoped to it.
   * Null when the workspace does not exist in this tenant.
   */
  findForPrincipal(
    tenantId: string,
    workspaceId: string,
    servicePrincipalId: string,
  ): Promise<(WorkspaceRow & { inScope: boolean; cacheVersion: number } & AccessReasonPolicyRow) | null> {
    return one(this.ds, `${PRINCIPAL_VIEW} WHERE w.tenant_id = $1 AND w.id = $2`, [
      tenantId,
      workspaceId,
      servicePrincipalId,
    ]);
  }

  /**
   * findForPrincipal for many workspaces of one tenant at once (the DEK path's batched background re-reads): one
   * row per workspace that exists in the tenant, with its id; absent ids do not exist there.
   */
  findManyForPrincipal(
    tenantId: string,
    workspaceIds: readonly string[],
    servicePrincipalId: string,
  ): Promise<Array<WorkspaceRow & { inScope: boolean; cacheVersion: number } & AccessReasonPolicyRow>> {
    return rows(this.ds, `${PRINCIPAL_VIEW} WHERE w.tenant_id = $1 AND w.id = ANY($2::uuid[])`, [
      tenantId,
      workspaceIds,
      servicePrincipalId,
    ]);
  }

  /** Every workspace of the tenant, in creation order. Internal callers only: the admin API pages with `page`. */
  list(tenantId: string): Promise<WorkspaceRow[]> {
    return rows<WorkspaceRow>(this.ds, `SELECT ${COLS} FROM workspaces WHERE tenant_id = $1 ORDER BY created_at, id`, [
      tenantId,
    ]);
  }

  /** One page of the tenant's workspaces, filtered and sorted, by keyset (see keyset.ts). */
  page(tenantId: string, q: WorkspaceListQuery): Promise<KeysetPage<WorkspaceRow>> {
    const sort = WORKSPACE_SORTS[q.sort];
    const w = new Where().add('tenant_id = ?', tenantId);
    if (q.search) w.add(`name ILIKE ?`, likeContains(q.search));
    if (q.keyStates?.length) w.add('key_state = ANY(?::text[])', q.keyStates);
    if (q.keyConfigurationId) w.add('key_configuration_id = ?::uuid', q.keyConfigurationId);
    if (q.degraded !== undefined) w.add('degraded = ?::boolean', q.degraded);
    if (q.ids?.length) w.add('id = ANY(?::uuid[])', q.ids);
    if (q.after) w.after(sort, 'id', q.direction, q.after);
    return sortedPage<WorkspaceRow>(this.ds, { columns: COLS, table: 'workspaces' }, w, sort, q);
  }

  /** The given workspaces of the tenant (ids of another tenant are simply absent). */
  findMany(tenantId: string, ids: readonly string[]): Promise<WorkspaceRow[]> {
    return rows<WorkspaceRow>(
      this.ds,
      `SELECT ${COLS} FROM workspaces WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id`,
      [tenantId, ids],
    );
  }

  async countExisting(tenantId: string, ids: string[]): Promise<number> {
    const r = await one<{ n: number }>(
      this.ds,
      `SELECT count(*)::int AS n FROM workspaces WHERE tenant_id = $1 AND id = ANY($2::uuid[])`,
      [tenantId, ids],
    );
    return r?.n ?? 0;
  }

  /**
   * Compare-and-set transition: applies only if the state is still `from` (one of) and, when given, the
   * state_version is still `expectedVersion`. Returns the new row, or null when someone else moved it first.
   */
  async transition(
    db: Queryable,
    tenantId: string,
    id: string,
    change: {
      from: readonly KeyStateName[];
      to: KeyStateName;
      expectedVersion?: number;
      keyConfigurationId?: string | null;
      currentKekVersion?: number | null;
      degraded?: boolean;
    },
  ): Promise<WorkspaceRow | null> {
    return one<WorkspaceRow>(
      db,
      `UPDATE workspaces SET key_state = $4,
         key_configuration_id = CASE WHEN $5::boolean THEN $6::uuid ELSE key_configuration_id END,
         current_kek_version = CASE WHEN $7::boolean THEN $8::int ELSE current_kek_version END,
         degraded = COALESCE($9::boolean, degraded),
         state_version = state_version + 1, updated_at = now()
       WHERE tenant_id = $1 AND id = $2 AND key_state = ANY($3::text[]) AND ($10::bigint IS NULL OR state_version = $10)
       RETURNING ${COLS}`,
      [
        tenantId,
        id,
        change.from,
        change.to,
        change.keyConfigurationId !== undefined,
        change.keyConfigurationId ?? null,
        change.currentKekVersion !== undefined,
        change.currentKekVersion ?? null,
        change.degraded ?? null,
        change.expectedVersion ?? null,
      ],
    );
  }

  /**
   * Deliberate crypto-shred, in the caller's transaction (which must hold the workspace row lock, see lockById):
   * every DEK row and every KEK version row of the workspace is deleted — not flagged — and the workspace stays as a
   * `destroyed` tombstone with no binding and no KEK version. Returns the tombstone and what was deleted.
   */
  async destroy(
    db: Queryable,
    tenantId: string,
    id: string,
  ): Promise<{ row: WorkspaceRow; deks: number; kekVersions: number } | null> {
    // KEK rows first, for update: a DEK insert (its foreign key takes a key-share lock on its KEK row), a wrap
    // reservation or a job's compare-and-set on a KEK row either committed before this (and its rows are deleted
    // below) or waits, then finds the rows gone and fails; none can add a DEK between the two deletes.
    await rows(db, `SELECT version FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 FOR UPDATE`, [
      tenantId,
      id,
    ]);
    const deks = await rows(db, `DELETE FROM deks WHERE tenant_id = $1 AND workspace_id = $2 RETURNING 1`, [
      tenantId,
      id,
    ]);
    const keks = await rows(db, `DELETE FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 RETURNING 1`, [
      tenantId,
      id,
    ]);
    const row = await one<WorkspaceRow>(
      db,
      `UPDATE workspaces SET key_state = 'destroyed', key_configuration_id = NULL, current_kek_version = NULL, degraded = false,
         state_version = state_version + 1, updated_at = now()
       WHERE tenant_id = $1 AND id = $2 AND key_state <> 'destroyed' RETURNING ${COLS}`,
      [tenantId, id],
    );
    return row ? { row, deks: deks.length, kekVersions: keks.length } : null;
  }

  /**
   * Marks or clears "the KMS could not be reached" (the API on a failed or a successful unwrap, a probe's
   * degraded or restore verdict), in `db`'s transaction if given. No-op when unchanged. It moves neither the key
   * state nor state_version, and the kek_generation trigger ignores it: degradation is not a key change, and an
   * outage is exactly when the replicas' cached KEKs must stay warm.
   */
  async setDegraded(tenantId: string, id: string, degraded: boolean, db: Queryable = this.ds): Promise<boolean> {
    const r = await rows(
      db,
      `UPDATE workspaces SET degraded = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2 AND degraded <> $3 RETURNING id`,
      [tenantId, id, degraded],
    );
    return r.length > 0;
  }

  /** Workspaces bound to a key configuration, in any state but unbound. */
  boundTo(tenantId: string, keyConfigurationId: string, db: Queryable = this.ds): Promise<WorkspaceRow[]> {
    return rows<WorkspaceRow>(
      db,
      `SELECT ${COLS} FROM workspaces WHERE tenant_id = $1 AND key_configuration_id = $2 AND key_state <> 'unbound' ORDER BY id`,
      [tenantId, keyConfigurationId],
    );
  }

  /**
   * Platform housekeeping for the KEK cache's lost-message fallback: the cache generation (kek_generation +
   * segment_epoch: a segment destroy must reach a replica that missed its message too) of each given workspace
   * that may still hold a usable KEK. A workspace missing from the answer (deleted, or in a state outside the
   * serving set: shredded, destroyed, unbound…) must be dropped from every cache however its generation compares.
   * Ids only; no tenant data leaves this method.
   */
  async kekGenerations(ids: string[]): Promise<Map<string, number>> {
    if (!ids.length) return new Map();
    const r = await rows<{ id: string; g: number }>(
      this.ds,
      `SELECT id, (kek_generation + segment_epoch)::float8 AS g FROM workspaces
        WHERE id = ANY($1::uuid[]) AND key_state = ANY($2::text[])`,
      [ids, KEK_HOLDING_STATES],
    );
    return new Map(r.map((x) => [x.id, Number(x.g)]));
  }

  async countByState(): Promise<Array<{ keyState: string; n: number }>> {
    return rows(this.ds, `SELECT key_state AS "keyState", count(*)::int AS n FROM workspaces GROUP BY key_state`);
  }
}
