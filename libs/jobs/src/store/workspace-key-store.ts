import type { KeyConfig, ProviderKind } from '@app/provider-port';
import type { Sql } from './sql';

export type WorkspaceKeyState =
  | 'unbound'
  | 'provisioning'
  | 'active'
  | 'rewrapping'
  | 'rekeying'
  | 'kek_rotating'
  | 'access_suspect'
  | 'shredded'
  | 'destroyed';

export interface WorkspaceKeyRow {
  readonly id: string;
  readonly tenantId: string;
  readonly keyState: WorkspaceKeyState;
  readonly keyConfigurationId: string | null;
  readonly currentKekVersion: number | null;
  readonly degraded: boolean;
  readonly stateVersion: number;
}

export interface KekRow {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly version: number;
  readonly keyConfigurationId: string;
  readonly wrapped: Buffer;
  readonly providerKeyVersion: string | null;
  readonly state: 'active' | 'retiring' | 'retired';
  readonly wrapCount: number;
  readonly kcv: Buffer;
  readonly createdAt: Date;
  /** When the current wrapped form was made: COALESCE(rewrapped_at, created_at) (the CMK-rewrap age). */
  readonly wrappedAt: Date;
}

export interface KeyConfigurationRow {
  readonly id: string;
  readonly tenantId: string;
  readonly provider: ProviderKind;
  readonly config: KeyConfig;
  readonly status: string;
}

const WS = `id, tenant_id AS "tenantId", key_state AS "keyState", key_configuration_id AS "keyConfigurationId",
  current_kek_version AS "currentKekVersion", degraded, state_version AS "stateVersion"`;
const KEK = `tenant_id AS "tenantId", workspace_id AS "workspaceId", version, key_configuration_id AS "keyConfigurationId",
  wrapped, provider_key_version AS "providerKeyVersion", state, wrap_count AS "wrapCount", kcv, created_at AS "createdAt",
  COALESCE(rewrapped_at, created_at) AS "wrappedAt"`;

const ws = (r: WorkspaceKeyRow): WorkspaceKeyRow => ({
  ...r,
  stateVersion: Number(r.stateVersion),
  currentKekVersion: r.currentKekVersion === null ? null : Number(r.currentKekVersion),
});
const kek = (r: KekRow): KekRow => ({ ...r, version: Number(r.version), wrapCount: Number(r.wrapCount) });

/** States in which DEKs are served and a workspace's key can be worked on. */
export const SERVING_STATES: readonly WorkspaceKeyState[] = ['active', 'rewrapping', 'rekeying', 'kek_rotating'];

/**
 * Workspaces, their KEK versions and key configurations as the jobs need them. Every method takes the tenant id
 * first (a forgotten tenant filter is then a compile error): a job can only touch the tenant named in its payload.
 */
export class WorkspaceKeyStore {
  /**
   * @param bindTenant re-applies tenant-owned values to a stored configuration (the AWS ExternalId is the
   *   tenant's, never read from the stored config or from a client).
   */
  constructor(private readonly bindTenant: (cfg: KeyConfig, tenant: { id: string; externalId: string }) => KeyConfig = (c) => c) {}

  async workspace(sql: Sql, tenantId: string, workspaceId: string, lock = false): Promise<WorkspaceKeyRow | null> {
    const rows = await sql.rows<WorkspaceKeyRow>(
      `SELECT ${WS} FROM workspaces WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
      [tenantId, workspaceId],
    );
    return rows[0] ? ws(rows[0]) : null;
  }

  /**
   * Compare-and-set state transition: succeeds only from one of `from` (and, if given, the expected
   * state_version). Bumps state_version so any concurrent writer that read the old one loses.
   */
  async transition(
    sql: Sql,
    tenantId: string,
    workspaceId: string,
    from: readonly WorkspaceKeyState[],
    to: WorkspaceKeyState,
    extra: { keyConfigurationId?: string; currentKekVersion?: number; degraded?: boolean; expectedStateVersion?: number } = {},
  ): Promise<boolean> {
    const n = await sql.affected(
      `UPDATE workspaces SET key_state = $4, state_version = state_version + 1, updated_at = now(),
         key_configuration_id = COALESCE($5, key_configuration_id),
         current_kek_version = COALESCE($6, current_kek_version),
         degraded = COALESCE($7, degraded)
       WHERE tenant_id = $1 AND id = $2 AND key_state = ANY($3) AND ($8::bigint IS NULL OR state_version = $8)`,
      [
        tenantId,
        workspaceId,
        from,
        to,
        extra.keyConfigurationId ?? null,
        extra.currentKekVersion ?? null,
        extra.degraded ?? null,
        extra.expectedStateVersion ?? null,
      ],
    );
    return n === 1;
  }

  /**
   * The degraded flag alone. Like the API's, it bumps neither state_version nor the KEK generation: degradation is
   * not a key change, and an outage is exactly when the replicas' KEK caches must stay warm.
   */
  async setDegraded(sql: Sql, tenantId: string, workspaceId: string, degraded: boolean): Promise<void> {
    await sql.affected(
      `UPDATE workspaces SET degraded = $3, updated_at = now()
       WHERE tenant_id = $1 AND id = $2 AND degraded <> $3`,
      [tenantId, workspaceId, degraded],
    );
  }

  /** Workspaces bound to a key configuration, in any state but unbound. */
  async boundTo(sql: Sql, tenantId: string, keyConfigurationId: string): Promise<WorkspaceKeyRow[]> {
    const rows = await sql.rows<WorkspaceKeyRow>(
      `SELECT ${WS} FROM workspaces WHERE tenant_id = $1 AND key_configuration_id = $2 AND key_state <> 'unbound'
       ORDER BY id`,
      [tenantId, keyConfigurationId],
    );
    return rows.map(ws);
  }

  async keyConfiguration(sql: Sql, tenantId: string, keyConfigurationId: string): Promise<KeyConfigurationRow | null> {
    const rows = await sql.rows<KeyConfigurationRow & { externalId: string }>(
      `SELECT k.id, k.tenant_id AS "tenantId", k.provider, k.config, k.status, t.external_id AS "externalId"
       FROM key_configurations k JOIN tenants t ON t.id = k.tenant_id
       WHERE k.tenant_id = $1 AND k.id = $2`,
      [tenantId, keyConfigurationId],
    );
    const r = rows[0];
    if (!r) return null;
    const { externalId, ...row } = r;
    return { ...row, config: this.bindTenant(row.config, { id: tenantId, externalId }) };
  }

  /** KEK versions still in use (active or retiring), oldest first. */
  async liveKeks(sql: Sql, tenantId: string, workspaceId: string): Promise<KekRow[]> {
    const rows = await sql.rows<KekRow>(
      `SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND state IN ('active', 'retiring')
       ORDER BY version`,
      [tenantId, workspaceId],
    );
    return rows.map(kek);
  }

  async kek(sql: Sql, tenantId: string, workspaceId: string, version: number): Promise<KekRow | null> {
    // A retired version has no wrapped form left (see retireIfUnused): only live versions are KEK rows to work on.
    const rows = await sql.rows<KekRow>(`SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND state <> 'retired'`, [
      tenantId,
      workspaceId,
      version,
    ]);
    return rows[0] ? kek(rows[0]) : null;
  }

  async maxKekVersion(sql: Sql, tenantId: string, workspaceId: string): Promise<number> {
    const rows = await sql.rows<{ v: string | null }>(
      `SELECT max(version) AS v FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2`,
      [tenantId, workspaceId],
    );
    return Number(rows[0]?.v ?? 0);
  }

  /**
   * Swap one KEK version's wrapped form (CMK rewrap or re-key), compare-and-set on the wrapped bytes read before
   * the provider calls: if anyone else changed the row meanwhile, nothing is written. The previous wrapped form is
   * kept (previous_*) only while the operation runs, for a re-key's rollback; the operation's last transaction
   * deletes it (dropPreviousForms), so no form under a key the workspace left outlives the operation.
   */
  async replaceWrapping(
    sql: Sql,
    row: KekRow,
    next: { wrapped: Buffer; keyConfigurationId: string; providerKeyVersion: string | null },
  ): Promise<boolean> {
    const n = await sql.affected(
      `UPDATE kek_versions SET wrapped = $4, key_configuration_id = $5, provider_key_version = $6,
         previous_wrapped = wrapped, previous_key_configuration_id = key_configuration_id,
         previous_provider_key_version = provider_key_version, rewrapped_at = now(), updated_at = now()
       WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND wrapped = $7 AND state IN ('active', 'retiring')`,
      [row.tenantId, row.workspaceId, row.version, next.wrapped, next.keyConfigurationId, next.providerKeyVersion, row.wrapped],
    );
    return n === 1;
  }

  /**
   * Delete every previous_* form of the workspace (all versions), in the caller's transaction: the one that ends a
   * re-key (with the binding switch) or a CMK rewrap. Returns how many forms were deleted.
   */
  async dropPreviousForms(sql: Sql, tenantId: string, workspaceId: string): Promise<number> {
    return sql.affected(
      `UPDATE kek_versions SET previous_wrapped = NULL, previous_key_configuration_id = NULL, previous_provider_key_version = NULL,
         updated_at = now()
       WHERE tenant_id = $1 AND workspace_id = $2 AND previous_wrapped IS NOT NULL`,
      [tenantId, workspaceId],
    );
  }

  /**
   * Crypto-shred of the stored forms, in the transaction that moves the workspace to `shredded`: every KEK form that
   * is NOT under the bound (revoked) configuration goes. A row caught mid-re-key (already under the target, its
   * form under the bound key in previous_*) goes back to that form, so the customer alone can still reopen it by
   * restoring their key (reinstate); then every previous_* form is deleted. Retired versions hold no form at all.
   * Returns the number of forms deleted.
   */
  async dropFormsNotUnder(sql: Sql, tenantId: string, workspaceId: string, boundKeyConfigurationId: string): Promise<number> {
    const restored = await sql.affected(
      `UPDATE kek_versions SET wrapped = previous_wrapped, key_configuration_id = previous_key_configuration_id,
         provider_key_version = previous_provider_key_version, previous_wrapped = NULL, previous_key_configuration_id = NULL,
         previous_provider_key_version = NULL, updated_at = now()
       WHERE tenant_id = $1 AND workspace_id = $2 AND state <> 'retired' AND key_configuration_id <> $3
         AND previous_key_configuration_id = $3 AND previous_wrapped IS NOT NULL`,
      [tenantId, workspaceId, boundKeyConfigurationId],
    );
    return restored + (await this.dropPreviousForms(sql, tenantId, workspaceId));
  }

  /**
   * KEK rotation's switch, in the caller's transaction: the current active version becomes retiring, the new
   * version is inserted active, and the workspace's current_kek_version moves to it (new DEKs use it from now
   * on). Compare-and-set on current_kek_version: a re-run that finds the switch done changes nothing.
   */
  async switchToNewKek(
    sql: Sql,
    row: Pick<KekRow, 'tenantId' | 'workspaceId' | 'version' | 'keyConfigurationId' | 'wrapped' | 'providerKeyVersion' | 'kcv'>,
    fromVersion: number,
  ): Promise<boolean> {
    const moved = await sql.affected(
      `UPDATE workspaces SET current_kek_version = $3, state_version = state_version + 1, updated_at = now()
       WHERE tenant_id = $1 AND id = $2 AND current_kek_version = $4 AND key_state <> 'destroyed'`,
      [row.tenantId, row.workspaceId, row.version, fromVersion],
    );
    if (moved !== 1) return false;
    await sql.affected(
      `UPDATE kek_versions SET state = 'retiring', updated_at = now()
       WHERE tenant_id = $1 AND workspace_id = $2 AND state = 'active'`,
      [row.tenantId, row.workspaceId],
    );
    await sql.affected(
      `INSERT INTO kek_versions (tenant_id, workspace_id, version, key_configuration_id, wrapped, provider_key_version,
         state, wrap_count, kcv, created_at, updated_at, rewrapped_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'active', 0, $7, now(), now(), now())`,
      [row.tenantId, row.workspaceId, row.version, row.keyConfigurationId, row.wrapped, row.providerKeyVersion, row.kcv],
    );
    return true;
  }

  /**
   * Retire a version no DEK uses any more, checked in the same statement. A retired version wraps nothing, so its
   * wrapped forms are destroyed with it (the row stays as a tombstone: version number, KCV, wrap count); a version
   * that is never used again must not stay openable by a key the workspace may later leave.
   */
  async retireIfUnused(sql: Sql, tenantId: string, workspaceId: string, version: number): Promise<boolean> {
    // Lock the row first (the caller's transaction): a DEK insert under this version in flight holds a key-share
    // lock on it, so this waits for it, and the NOT EXISTS below (a new statement) then sees its DEK. A DEK insert
    // arriving later waits for this transaction and is refused by the deks trigger once the version is retired.
    await sql.rows(`SELECT 1 FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND state = 'retiring' FOR UPDATE`, [
      tenantId,
      workspaceId,
      version,
    ]);
    const n = await sql.affected(
      `UPDATE kek_versions k SET state = 'retired', wrapped = NULL, key_configuration_id = NULL, provider_key_version = NULL,
         previous_wrapped = NULL, previous_key_configuration_id = NULL, previous_provider_key_version = NULL, updated_at = now()
       WHERE k.tenant_id = $1 AND k.workspace_id = $2 AND k.version = $3 AND k.state = 'retiring'
         AND NOT EXISTS (SELECT 1 FROM deks d WHERE d.workspace_id = $2 AND d.kek_version = $3)`,
      [tenantId, workspaceId, version],
    );
    return n === 1;
  }

  async setKekState(sql: Sql, tenantId: string, workspaceId: string, version: number, from: readonly string[], to: string): Promise<boolean> {
    const n = await sql.affected(
      `UPDATE kek_versions SET state = $5, updated_at = now() WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND state = ANY($4)`,
      [tenantId, workspaceId, version, from, to],
    );
    return n === 1;
  }
}
