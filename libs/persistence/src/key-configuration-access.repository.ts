import type { ErrorClass } from '@app/provider-port';
import { one, Queryable } from './sql';

/** The revocation-confirmation record of one key configuration (what the confirmation policy counts). */
export interface AccessRecordRow {
  readonly consecutiveDefinitive: number;
  readonly firstDefinitiveAt: Date | null;
  readonly lastErrorClass: ErrorClass | null;
  /** The open revocation episode (propagation flapping): its first denial, its denials and successes, the current run of successes. */
  readonly episodeStartedAt?: Date | null;
  readonly episodeDenials?: number;
  readonly episodeAllows?: number;
  readonly allowRunSince?: Date | null;
}

const CLEAN: AccessRecordRow = {
  consecutiveDefinitive: 0,
  firstDefinitiveAt: null,
  lastErrorClass: null,
  episodeStartedAt: null,
  episodeDenials: 0,
  episodeAllows: 0,
  allowRunSince: null,
};

/** The probe verdicts the record keeps (`restore` also stamps the last success). */
export type AccessVerdictName = 'restore' | 'degraded' | 'suspect' | 'shred';

/**
 * Per key configuration: the revocation-confirmation record and probe bookkeeping (key_configuration_access).
 * `lock` takes a row lock for the transaction in which a probe result is applied, so two probes of one
 * configuration (scheduled + on-demand) are counted one after the other, never twice from the same state. Every
 * method runs in the caller's transaction (`db`).
 */
export class KeyConfigurationAccessRepository {
  /** The record, created clean if absent, locked for the rest of `db`'s transaction. */
  async lock(db: Queryable, tenantId: string, keyConfigurationId: string, provider: string): Promise<AccessRecordRow> {
    await db.query(
      `INSERT INTO key_configuration_access (tenant_id, key_configuration_id, provider) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [tenantId, keyConfigurationId, provider],
    );
    const r = await one<AccessRecordRow>(
      db,
      `SELECT consecutive_definitive AS "consecutiveDefinitive", first_definitive_at AS "firstDefinitiveAt", last_error_class AS "lastErrorClass",
              episode_started_at AS "episodeStartedAt", episode_denials AS "episodeDenials", episode_allows AS "episodeAllows",
              allow_run_since AS "allowRunSince"
       FROM key_configuration_access WHERE tenant_id = $1 AND key_configuration_id = $2 FOR UPDATE`,
      [tenantId, keyConfigurationId],
    );
    return r
      ? {
          ...r,
          consecutiveDefinitive: Number(r.consecutiveDefinitive),
          episodeDenials: Number(r.episodeDenials ?? 0),
          episodeAllows: Number(r.episodeAllows ?? 0),
        }
      : CLEAN;
  }

  /** Stores a probe's outcome; `restore` (access works) also clears the record and stamps the success. */
  async save(
    db: Queryable,
    tenantId: string,
    keyConfigurationId: string,
    record: AccessRecordRow,
    verdict: AccessVerdictName,
  ): Promise<void> {
    await db.query(
      `UPDATE key_configuration_access SET consecutive_definitive = $3, first_definitive_at = $4, last_error_class = $5,
         last_verdict = $6, last_probe_at = now(), last_ok_at = CASE WHEN $6 = 'restore' THEN now() ELSE last_ok_at END,
         episode_started_at = $7, episode_denials = $8, episode_allows = $9, allow_run_since = $10
       WHERE tenant_id = $1 AND key_configuration_id = $2`,
      [
        tenantId,
        keyConfigurationId,
        record.consecutiveDefinitive,
        record.firstDefinitiveAt,
        record.lastErrorClass,
        verdict,
        record.episodeStartedAt ?? null,
        record.episodeDenials ?? 0,
        record.episodeAllows ?? 0,
        record.allowRunSince ?? null,
      ],
    );
  }

  /** Access proven again (reinstate): a clean record, as a successful probe leaves it. */
  reset(db: Queryable, tenantId: string, keyConfigurationId: string): Promise<void> {
    return this.save(db, tenantId, keyConfigurationId, CLEAN, 'restore');
  }

  /**
   * Positive control from the platform's own vantage point, over the last `windowMs` (at least a minute): how many
   * OTHER configurations on the same provider answered successfully, and how many were failing (suspect or shred).
   * Aggregates across tenants, never reveals any tenant's data.
   */
  async recentOnProvider(
    db: Queryable,
    provider: string,
    exceptKeyConfigurationId: string,
    windowMs: number,
  ): Promise<{ ok: number; failing: number }> {
    const r = await one<{ ok: number; failing: number }>(
      db,
      `SELECT count(*) FILTER (WHERE last_ok_at > now() - ($3::double precision * interval '1 millisecond'))::int AS ok,
              count(*) FILTER (WHERE last_verdict IN ('suspect', 'shred')
                                 AND last_probe_at > now() - ($3::double precision * interval '1 millisecond'))::int AS failing
       FROM key_configuration_access WHERE provider = $1 AND key_configuration_id <> $2`,
      [provider, exceptKeyConfigurationId, Math.max(windowMs, 60_000)],
    );
    return { ok: Number(r?.ok ?? 0), failing: Number(r?.failing ?? 0) };
  }
}
