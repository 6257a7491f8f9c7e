import type { AccessRecord, ControlVerdict, Verdict } from '../revocation/confirmation-policy';
import { CLEAN_RECORD } from '../revocation/confirmation-policy';
import type { ErrorClass } from '@app/provider-port';
import type { Sql } from './sql';

/**
 * Per key configuration: the revocation-confirmation record and probe bookkeeping (key_configuration_access).
 * `lockRecord` takes a row lock for the transaction in which a probe result is applied, so two probes of one
 * configuration (scheduled + on-demand) are counted one after the other, never twice from the same state.
 */
export class AccessStore {
  async lockRecord(sql: Sql, tenantId: string, keyConfigurationId: string, provider: string): Promise<AccessRecord> {
    await sql.affected(
      `INSERT INTO key_configuration_access (tenant_id, key_configuration_id, provider) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [tenantId, keyConfigurationId, provider],
    );
    const rows = await sql.rows<{
      consecutive: number;
      first: Date | null;
      cls: ErrorClass | null;
      episode: Date | null;
      denials: number;
      allows: number;
      run: Date | null;
    }>(
      `SELECT consecutive_definitive AS consecutive, first_definitive_at AS first, last_error_class AS cls,
              episode_started_at AS episode, episode_denials AS denials, episode_allows AS allows, allow_run_since AS run
       FROM key_configuration_access WHERE tenant_id = $1 AND key_configuration_id = $2 FOR UPDATE`,
      [tenantId, keyConfigurationId],
    );
    const r = rows[0];
    if (!r) return CLEAN_RECORD;
    return {
      consecutiveDefinitive: Number(r.consecutive),
      firstDefinitiveAt: r.first,
      lastErrorClass: r.cls,
      episodeStartedAt: r.episode,
      episodeDenials: Number(r.denials),
      episodeAllows: Number(r.allows),
      allowRunSince: r.run,
    };
  }

  async save(sql: Sql, tenantId: string, keyConfigurationId: string, record: AccessRecord, verdict: Verdict): Promise<void> {
    await sql.affected(
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

  async reset(sql: Sql, tenantId: string, keyConfigurationId: string): Promise<void> {
    await sql.affected(
      `UPDATE key_configuration_access SET consecutive_definitive = 0, first_definitive_at = NULL, last_error_class = NULL,
         last_verdict = 'restore', last_probe_at = now(), last_ok_at = now(),
         episode_started_at = NULL, episode_denials = 0, episode_allows = 0, allow_run_since = NULL
       WHERE tenant_id = $1 AND key_configuration_id = $2`,
      [tenantId, keyConfigurationId],
    );
  }

  /**
   * Positive control from the platform's own vantage point: did any OTHER configuration on the same provider
   * answer successfully within the window (then the provider and our vendor identity work), or are several of
   * them failing at once with none succeeding (then the fault is most likely ours: broken vendor credentials,
   * a provider-wide incident)? Aggregates across tenants, never reveals any tenant's data.
   */
  async control(sql: Sql, provider: string, exceptKeyConfigurationId: string, windowMs: number): Promise<ControlVerdict> {
    const rows = await sql.rows<{ ok: string; failing: string }>(
      `SELECT count(*) FILTER (WHERE last_ok_at > now() - ($3::double precision * interval '1 millisecond')) AS ok,
              count(*) FILTER (WHERE last_verdict IN ('suspect', 'shred')
                                 AND last_probe_at > now() - ($3::double precision * interval '1 millisecond')) AS failing
       FROM key_configuration_access WHERE provider = $1 AND key_configuration_id <> $2`,
      [provider, exceptKeyConfigurationId, Math.max(windowMs, 60_000)],
    );
    const ok = Number(rows[0]?.ok ?? 0);
    const failing = Number(rows[0]?.failing ?? 0);
    if (ok > 0) return 'healthy';
    if (failing >= 3) return 'unhealthy';
    return 'unknown';
  }
}
