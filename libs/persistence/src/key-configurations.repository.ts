import type { DataSource } from 'typeorm';
import type { KeyConfig, ProviderKind, StoredKeyConfig, TenantIdentity } from '@app/provider-port';
import { KeysetPage, likeContains, ListPaging, nameAndCreationSorts, sortedPage, Where } from './keyset';
import { affected, one, Queryable, rows } from './sql';
import type { KeyStateName } from './workspaces.repository';

export type ProviderName = ProviderKind;

/** `provider` and `config` as one discriminated pair: the column names the cloud whose configuration the JSON holds. */
export type KeyConfigurationRow = KeyConfigurationColumns & StoredKeyConfig;

interface KeyConfigurationColumns {
  id: string;
  tenantId: string;
  name: string;
  status: 'valid' | 'invalid';
  validation: { checks?: Array<{ name: string; ok: boolean; message: string }>; [k: string]: unknown };
  validatedAt: Date | null;
  createdAt: Date;
}

const COLS = `id, tenant_id AS "tenantId", name, provider, config, status, validation, validated_at AS "validatedAt",
  created_at AS "createdAt"`;

export const KEY_CONFIGURATION_SORTS = nameAndCreationSorts();
export type KeyConfigurationSort = keyof typeof KEY_CONFIGURATION_SORTS;

export interface KeyConfigurationListQuery extends ListPaging<KeyConfigurationSort> {
  search?: string;
  providers?: readonly ProviderName[];
  statuses?: readonly string[];
}

export class KeyConfigurationRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    tenantId: string,
    kc: { id: string; name: string; config: KeyConfig; status: 'valid' | 'invalid'; validation: object },
    db: Queryable = this.ds,
  ): Promise<KeyConfigurationRow> {
    return (await one<KeyConfigurationRow>(
      db,
      `INSERT INTO key_configurations (id, tenant_id, name, provider, config, status, validation, validated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, now()) RETURNING ${COLS}`,
      [
        kc.id,
        tenantId,
        kc.name,
        kc.config.provider,
        JSON.stringify(kc.config),
        kc.status,
        JSON.stringify(kc.validation),
      ],
    ))!;
  }

  findById(tenantId: string, id: string, db: Queryable = this.ds): Promise<KeyConfigurationRow | null> {
    return one<KeyConfigurationRow>(db, `SELECT ${COLS} FROM key_configurations WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      id,
    ]);
  }

  /**
   * The configuration with the tenant values a binding re-applies before any call (bindTenant: the AWS ExternalId
   * is the tenant's, never read from the stored configuration or from a client), in one round trip.
   */
  /**
   * The latest access probe's warning on a configuration (a thing for the admin to fix, never a revocation), kept in
   * its `validation` document (`validation.probeWarning`) beside the checks the admin already reads. Written only when
   * it changes (a repeated warning keeps its first `since`); null clears it. True when the stored state changed.
   */
  async recordProbeWarning(
    tenantId: string,
    id: string,
    warning: { code: string; errorClass: string; providerCode?: string } | null,
    message: string,
    db: Queryable = this.ds,
  ): Promise<boolean> {
    if (!warning)
      return (
        (await affected(
          db,
          `UPDATE key_configurations SET validation = validation - 'probeWarning'
           WHERE tenant_id = $1 AND id = $2 AND validation->'probeWarning' IS NOT NULL`,
          [tenantId, id],
        )) > 0
      );
    const stored = { ...warning, message, since: new Date().toISOString() };
    return (
      (await affected(
        db,
        `UPDATE key_configurations SET validation = jsonb_set(validation, '{probeWarning}', $3::jsonb)
         WHERE tenant_id = $1 AND id = $2
           AND (validation->'probeWarning'->>'code', validation->'probeWarning'->>'errorClass') IS DISTINCT FROM ($4::text, $5::text)`,
        [tenantId, id, JSON.stringify(stored), warning.code, warning.errorClass],
      )) > 0
    );
  }

  async findWithTenant(
    tenantId: string,
    id: string,
    db: Queryable = this.ds,
  ): Promise<{ row: KeyConfigurationRow; tenant: TenantIdentity } | null> {
    const r = await one<KeyConfigurationRow & { externalId: string }>(
      db,
      `SELECT k.*, t.external_id AS "externalId"
       FROM (SELECT ${COLS} FROM key_configurations WHERE tenant_id = $1 AND id = $2) k JOIN tenants t ON t.id = k."tenantId"`,
      [tenantId, id],
    );
    if (!r) return null;
    const { externalId, ...row } = r;
    return { row, tenant: { id: tenantId, externalId } };
  }

  /**
   * Platform housekeeping (probe sweep, rotation check): every configuration some workspace in one of `states` is
   * bound to. Cross-tenant by design; ids only.
   */
  boundInStates(states: readonly KeyStateName[]): Promise<Array<{ tenantId: string; keyConfigurationId: string }>> {
    return rows(
      this.ds,
      `SELECT DISTINCT tenant_id AS "tenantId", key_configuration_id AS "keyConfigurationId" FROM workspaces
       WHERE key_configuration_id IS NOT NULL AND key_state = ANY($1::text[])`,
      [states],
    );
  }

  findByName(tenantId: string, name: string): Promise<KeyConfigurationRow | null> {
    return one<KeyConfigurationRow>(
      this.ds,
      `SELECT ${COLS} FROM key_configurations WHERE tenant_id = $1 AND name = $2`,
      [tenantId, name],
    );
  }

  /** One page of the tenant's key configurations, filtered and sorted, by keyset (see keyset.ts). */
  page(tenantId: string, q: KeyConfigurationListQuery): Promise<KeysetPage<KeyConfigurationRow>> {
    const sort = KEY_CONFIGURATION_SORTS[q.sort];
    const w = new Where().add('tenant_id = ?', tenantId);
    if (q.search) w.add('name ILIKE ?', likeContains(q.search));
    if (q.providers?.length) w.add('provider = ANY(?::text[])', q.providers);
    if (q.statuses?.length) w.add('status = ANY(?::text[])', q.statuses);
    if (q.after) w.after(sort, 'id', q.direction, q.after);
    return sortedPage<KeyConfigurationRow>(this.ds, { columns: COLS, table: 'key_configurations' }, w, sort, q);
  }

  list(tenantId: string): Promise<KeyConfigurationRow[]> {
    return rows<KeyConfigurationRow>(
      this.ds,
      `SELECT ${COLS} FROM key_configurations WHERE tenant_id = $1 ORDER BY created_at, id`,
      [tenantId],
    );
  }

  async recordValidation(
    tenantId: string,
    id: string,
    v: { status: 'valid' | 'invalid'; validation: object; config: KeyConfig },
    db: Queryable = this.ds,
  ): Promise<KeyConfigurationRow | null> {
    return one<KeyConfigurationRow>(
      db,
      `UPDATE key_configurations SET status = $3, validation = $4::jsonb, config = $5::jsonb, validated_at = now(), updated_at = now()
       WHERE tenant_id = $1 AND id = $2 RETURNING ${COLS}`,
      [tenantId, id, v.status, JSON.stringify(v.validation), JSON.stringify(v.config)],
    );
  }

  /**
   * True while a workspace is bound to it, any stored KEK form (current or, during an operation, previous) is
   * wrapped under it, or an operation targets it. The foreign keys on kek_versions and workspaces (ON DELETE
   * RESTRICT) make the database refuse the delete anyway; this check only gives the caller the answer first.
   */
  async isInUse(tenantId: string, id: string, db: Queryable = this.ds): Promise<boolean> {
    const r = await rows(
      db,
      `SELECT 1 FROM workspaces WHERE tenant_id = $1 AND key_configuration_id = $2
       UNION ALL SELECT 1 FROM kek_versions WHERE tenant_id = $1 AND key_configuration_id = $2
       UNION ALL SELECT 1 FROM kek_versions WHERE tenant_id = $1 AND previous_key_configuration_id = $2
       UNION ALL SELECT 1 FROM operations WHERE tenant_id = $1 AND target_key_configuration_id = $2 AND state IN ('queued', 'running')
       LIMIT 1`,
      [tenantId, id],
    );
    return r.length > 0;
  }

  async delete(tenantId: string, id: string, db: Queryable = this.ds): Promise<boolean> {
    const r = await rows(db, `DELETE FROM key_configurations WHERE tenant_id = $1 AND id = $2 RETURNING id`, [
      tenantId,
      id,
    ]);
    return r.length > 0;
  }
}
