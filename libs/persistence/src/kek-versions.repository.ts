import type { DataSource } from 'typeorm';
import { affected, one, Queryable, rows } from './sql';

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
  /** When the current wrapped form was made: COALESCE(rewrapped_at, created_at) (the CMK-rewrap age). */
  wrappedAt: Date;
}

const KEK = `tenant_id AS "tenantId", workspace_id AS "workspaceId", version, key_configuration_id AS "keyConfigurationId",
  wrapped, provider_key_version AS "providerKeyVersion", state, wrap_count::float8 AS "wrapCount", kcv, created_at AS "createdAt",
  COALESCE(rewrapped_at, created_at) AS "wrappedAt"`;

/**
 * A workspace's KEK versions: each row is one KEK, wrapped under the customer key that `key_configuration_id`
 * names. Every change to a wrapped form is a compare-and-set (on the bytes read, the state or the workspace's
 * current version), so a duplicate or late job can never overwrite what another wrote.
 */
export class KekVersionRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    db: Queryable,
    tenantId: string,
    k: {
      workspaceId: string;
      version: number;
      keyConfigurationId: string;
      wrapped: Buffer;
      providerKeyVersion: string | null;
      kcv: Buffer;
      state: 'active' | 'retiring';
    },
  ): Promise<void> {
    await db.query(
      `INSERT INTO kek_versions (tenant_id, workspace_id, version, key_configuration_id, wrapped, provider_key_version, state, kcv)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [tenantId, k.workspaceId, k.version, k.keyConfigurationId, k.wrapped, k.providerKeyVersion, k.state, k.kcv],
    );
  }

  /** A live (active or retiring) version; a retired one keeps no wrapped form, so there is nothing to find. */
  find(tenantId: string, workspaceId: string, version: number, db: Queryable = this.ds): Promise<KekVersionRow | null> {
    return one<KekVersionRow>(
      db,
      `SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND state <> 'retired'`,
      [tenantId, workspaceId, version],
    );
  }

  /** The versions DEKs may still be under (active and retiring), oldest first. */
  findLive(tenantId: string, workspaceId: string, db: Queryable = this.ds): Promise<KekVersionRow[]> {
    return rows<KekVersionRow>(
      db,
      `SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND state IN ('active', 'retiring') ORDER BY version`,
      [tenantId, workspaceId],
    );
  }

  findActive(tenantId: string, workspaceId: string): Promise<KekVersionRow | null> {
    return one<KekVersionRow>(
      this.ds,
      `SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND state = 'active'`,
      [tenantId, workspaceId],
    );
  }

  /**
   * The active KEK of one workspace under a configuration, the given workspace's if it has one (the probe then
   * tries exactly what that workspace's DEK path needs), else the newest.
   */
  sampleActiveUnder(
    tenantId: string,
    keyConfigurationId: string,
    preferWorkspaceId?: string,
  ): Promise<KekVersionRow | null> {
    return one<KekVersionRow>(
      this.ds,
      `SELECT ${KEK} FROM kek_versions WHERE tenant_id = $1 AND key_configuration_id = $2 AND state = 'active'
       ORDER BY (workspace_id = $3::uuid) DESC NULLS LAST, created_at DESC LIMIT 1`,
      [tenantId, keyConfigurationId, preferWorkspaceId ?? null],
    );
  }

  /** Highest version number the workspace ever had (retired tombstones included): a new version is above it. */
  async maxVersion(tenantId: string, workspaceId: string): Promise<number> {
    const r = await one<{ v: number | null }>(
      this.ds,
      `SELECT max(version) AS v FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2`,
      [tenantId, workspaceId],
    );
    return Number(r?.v ?? 0);
  }

  /**
   * Reserves up to `n` wraps on a KEK version (one UPDATE per chunk, not per DEK) without ever taking the count
   * past `cap`. The grant is what the database says: the row is locked and the grant computed from its latest
   * value, so concurrent reservers on any replica can never exceed the cap together.
   */
  async reserveWraps(
    tenantId: string,
    workspaceId: string,
    version: number,
    n: number,
    cap: number,
  ): Promise<{ granted: number; count: number }> {
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

  /** Wraps a KEK rotation did (each GCM encryption counts toward the KEK's nonce budget, NIST SP 800-38D §8.3). */
  async countWraps(db: Queryable, tenantId: string, workspaceId: string, version: number, n: number): Promise<void> {
    await db.query(
      `UPDATE kek_versions SET wrap_count = wrap_count + $4 WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3`,
      [tenantId, workspaceId, version, n],
    );
  }

  /**
   * Swap one KEK version's wrapped form (CMK rewrap or re-key), compare-and-set on the wrapped bytes read before
   * the provider calls: if anyone else changed the row meanwhile, nothing is written. The previous wrapped form is
   * kept (previous_*) only while the operation runs, for a re-key's rollback; the operation's last transaction
   * deletes it (dropPreviousForms), so no form under a key the workspace left outlives the operation.
   */
  async replaceWrapping(
    row: Pick<KekVersionRow, 'tenantId' | 'workspaceId' | 'version' | 'wrapped'>,
    next: { wrapped: Buffer; keyConfigurationId: string; providerKeyVersion: string | null },
  ): Promise<boolean> {
    const n = await affected(
      this.ds,
      `UPDATE kek_versions SET wrapped = $4, key_configuration_id = $5, provider_key_version = $6,
         previous_wrapped = wrapped, previous_key_configuration_id = key_configuration_id,
         previous_provider_key_version = provider_key_version, rewrapped_at = now(), updated_at = now()
       WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND wrapped = $7 AND state IN ('active', 'retiring')`,
      [
        row.tenantId,
        row.workspaceId,
        row.version,
        next.wrapped,
        next.keyConfigurationId,
        next.providerKeyVersion,
        row.wrapped,
      ],
    );
    return n === 1;
  }

  /**
   * Delete every previous_* form of the workspace (all versions), in the caller's transaction: the one that ends a
   * re-key (with the binding switch) or a CMK rewrap. Returns how many forms were deleted.
   */
  dropPreviousForms(db: Queryable, tenantId: string, workspaceId: string): Promise<number> {
    return affected(
      db,
      `UPDATE kek_versions SET previous_wrapped = NULL, previous_key_configuration_id = NULL, previous_provider_key_version = NULL,
         updated_at = now()
       WHERE tenant_id = $1 AND workspace_id = $2 AND previous_wrapped IS NOT NULL`,
      [tenantId, workspaceId],
    );
  }

  /**
   * Puts rows back on the form they had before an operation moved them (previous_*), in the caller's transaction:
   * `movedTo` a re-key's target (its rollback), or every row not under `stayUnder` whose previous form is (a shred
   * caught mid-re-key: the form under the revoked key is the one the customer alone can reopen). Returns the count.
   */
  restorePreviousForms(
    db: Queryable,
    tenantId: string,
    workspaceId: string,
    which: { movedTo: string } | { stayUnder: string },
  ): Promise<number> {
    const [moved, cfg] = 'movedTo' in which ? [true, which.movedTo] : [false, which.stayUnder];
    return affected(
      db,
      `UPDATE kek_versions SET wrapped = previous_wrapped, key_configuration_id = previous_key_configuration_id,
         provider_key_version = previous_provider_key_version, previous_wrapped = NULL, previous_key_configuration_id = NULL,
         previous_provider_key_version = NULL, updated_at = now()
       WHERE tenant_id = $1 AND workspace_id = $2 AND state <> 'retired' AND previous_wrapped IS NOT NULL
         AND previous_key_configuration_id IS NOT NULL AND key_configuration_id IS NOT NULL
         AND CASE WHEN $4::boolean THEN key_configuration_id = $3 AND previous_key_configuration_id <> $3
                  ELSE key_configuration_id <> $3 AND previous_key_configuration_id = $3 END`,
      [tenantId, workspaceId, cfg, moved],
    );
  }

  /**
   * Crypto-shred of the stored forms, in the transaction that moves the workspace to `shredded`: every KEK form that
   * is NOT under the bound (revoked) configuration goes. A row caught mid-re-key (already under the target, its
   * form under the bound key in previous_*) goes back to that form, so the customer alone can still reopen it by
   * restoring their key (reinstate); then every previous_* form is deleted. Retired versions hold no form at all.
   * Returns the number of forms deleted.
   */
  async dropFormsNotUnder(
    db: Queryable,
    tenantId: string,
    workspaceId: string,
    boundKeyConfigurationId: string,
  ): Promise<number> {
    const restored = await this.restorePreviousForms(db, tenantId, workspaceId, { stayUnder: boundKeyConfigurationId });
    return restored + (await this.dropPreviousForms(db, tenantId, workspaceId));
  }

  /**
   * Shred of a configuration with a replica key: a live version's stored value (the envelope of both forms) replaced
   * by what may stay (the forms only revoked keys open), in the caller's transaction; compare-and-set on the bytes.
   */
  async replaceStoredForms(
    db: Queryable,
    tenantId: string,
    workspaceId: string,
    version: number,
    from: Buffer,
    to: Buffer,
  ): Promise<boolean> {
    const n = await affected(
      db,
      `UPDATE kek_versions SET wrapped = $5, updated_at = now()
       WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND wrapped = $4 AND state IN ('active', 'retiring')`,
      [tenantId, workspaceId, version, from, to],
    );
    return n === 1;
  }

  /**
   * KEK rotation's switch, in one transaction: the current active version becomes retiring, the new version is
   * inserted active, and the workspace's current_kek_version moves to it (new DEKs use it from now on).
   * Compare-and-set on current_kek_version: a re-run that finds the switch done changes nothing.
   */
  switchToNew(
    row: Pick<
      KekVersionRow,
      'tenantId' | 'workspaceId' | 'version' | 'keyConfigurationId' | 'wrapped' | 'providerKeyVersion' | 'kcv'
    >,
    fromVersion: number,
  ): Promise<boolean> {
    return this.ds.transaction(async (m) => {
      const moved = await affected(
        m,
        `UPDATE workspaces SET current_kek_version = $3, state_version = state_version + 1, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND current_kek_version = $4 AND key_state <> 'destroyed'`,
        [row.tenantId, row.workspaceId, row.version, fromVersion],
      );
      if (moved !== 1) return false;
      await m.query(
        `UPDATE kek_versions SET state = 'retiring', updated_at = now() WHERE tenant_id = $1 AND workspace_id = $2 AND state = 'active'`,
        [row.tenantId, row.workspaceId],
      );
      await m.query(
        `INSERT INTO kek_versions (tenant_id, workspace_id, version, key_configuration_id, wrapped, provider_key_version,
           state, wrap_count, kcv, created_at, updated_at, rewrapped_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'active', 0, $7, now(), now(), now())`,
        [
          row.tenantId,
          row.workspaceId,
          row.version,
          row.keyConfigurationId,
          row.wrapped,
          row.providerKeyVersion,
          row.kcv,
        ],
      );
      return true;
    });
  }

  /**
   * Retire a version no DEK uses any more, checked in the same statement. A retired version wraps nothing, so its
   * wrapped forms are destroyed with it (the row stays as a tombstone: version number, KCV, wrap count); a version
   * that is never used again must not stay openable by a key the workspace may later leave.
   */
  retireIfUnused(tenantId: string, workspaceId: string, version: number): Promise<boolean> {
    return this.ds.transaction(async (m) => {
      // Lock the row first: a DEK insert under this version in flight holds a key-share lock on it, so this waits
      // for it, and the NOT EXISTS below (a new statement) then sees its DEK. A DEK insert arriving later waits for
      // this transaction and is refused by the deks trigger once the version is retired.
      await m.query(
        `SELECT 1 FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND version = $3 AND state = 'retiring' FOR UPDATE`,
        [tenantId, workspaceId, version],
      );
      const n = await affected(
        m,
        `UPDATE kek_versions k SET state = 'retired', wrapped = NULL, key_configuration_id = NULL, provider_key_version = NULL,
           previous_wrapped = NULL, previous_key_configuration_id = NULL, previous_provider_key_version = NULL, updated_at = now()
         WHERE k.tenant_id = $1 AND k.workspace_id = $2 AND k.version = $3 AND k.state = 'retiring'
           AND NOT EXISTS (SELECT 1 FROM deks d WHERE d.workspace_id = $2 AND d.kek_version = $3)`,
        [tenantId, workspaceId, version],
      );
      return n === 1;
    });
  }

  /**
   * Platform housekeeping for the scheduled rotation: workspaces whose active KEK crossed the wrap-count limit
   * (wherever DEKs are still created: a workspace stuck in access_suspect too) or the age limit (a hygiene limit,
   * which waits for an active workspace). Cross-tenant by design; ids only.
   */
  dueForRotation(
    maxWraps: number,
    maxAgeSeconds: number,
  ): Promise<Array<{ tenantId: string; workspaceId: string; why: string }>> {
    return rows(
      this.ds,
      `SELECT k.tenant_id AS "tenantId", k.workspace_id AS "workspaceId",
              CASE WHEN k.wrap_count >= $1 THEN 'wrap count' ELSE 'age' END AS why
       FROM kek_versions k JOIN workspaces w ON w.tenant_id = k.tenant_id AND w.id = k.workspace_id
       WHERE k.state = 'active'
         AND ((k.wrap_count >= $1 AND w.key_state IN ('active', 'access_suspect'))
              OR (w.key_state = 'active' AND k.created_at < now() - ($2::double precision * interval '1 second')))`,
      [maxWraps, maxAgeSeconds],
    );
  }

  /**
   * Active workspaces bound to a configuration that have a live KEK form not on the customer key's current version
   * (`currentKeyVersion`, null when the cloud does not say), or, with `maxAgeSeconds` > 0, one made before that age.
   * `cutoff` is that age's instant on the database's clock.
   */
  dueForCmkRewrap(
    tenantId: string,
    keyConfigurationId: string,
    currentKeyVersion: string | null,
    maxAgeSeconds: number,
  ): Promise<Array<{ workspaceId: string; why: string; cutoff: Date }>> {
    return rows(
      this.ds,
      `SELECT DISTINCT k.workspace_id AS "workspaceId",
              CASE WHEN $3::text IS NOT NULL AND k.provider_key_version IS DISTINCT FROM $3::text THEN 'new CMK version'
                   ELSE 'wrapped KEK age' END AS why,
              now() - ($4::double precision * interval '1 second') AS cutoff
       FROM kek_versions k JOIN workspaces w ON w.tenant_id = k.tenant_id AND w.id = k.workspace_id
       WHERE k.tenant_id = $1 AND k.key_configuration_id = $2 AND k.state IN ('active', 'retiring')
         AND w.key_state = 'active' AND w.key_configuration_id = $2
         -- Churn guard: a binding that reports one version on describe and another on wrap must not cause
         -- a rewrap on every check; one successful rewrap towards this version per day is enough.
         AND NOT EXISTS (SELECT 1 FROM operations o
                         WHERE o.tenant_id = k.tenant_id AND o.workspace_id = k.workspace_id AND o.kind = 'cmk-rewrap'
                           AND o.state = 'succeeded' AND o.params->'result'->>'keyVersion' = $3::text
                           AND o.finished_at > now() - interval '1 day')
         AND (($3::text IS NOT NULL AND k.provider_key_version IS DISTINCT FROM $3::text)
              OR ($4::int > 0 AND COALESCE(k.rewrapped_at, k.created_at) < now() - ($4::double precision * interval '1 second')))`,
      [tenantId, keyConfigurationId, currentKeyVersion, maxAgeSeconds],
    );
  }
}
