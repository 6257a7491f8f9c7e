import type { ProbeWarning } from '../revocation/probe-warning';
import type { Sql } from './sql';

/** What an admin reads on the key configuration (`validation.probeWarning`): never a revocation, a thing to fix. */
export interface StoredProbeWarning extends ProbeWarning {
  readonly message: string;
  /** When a probe first met it (kept while later probes meet the same warning). */
  readonly since: string;
}

/**
 * The latest probe's warning on a key configuration, kept in the configuration's `validation` document next to the
 * validation checks the admin already reads (`validation.probeWarning`), so the admin API and console show it
 * without a new table. Written only when it changes: a healthy probe costs no write here, and a repeated warning
 * keeps its first `since`. A re-validation replaces the document and with it the warning; the next probe that
 * meets the refusal sets it again.
 */
export class ProbeWarningStore {
  /** Sets (or clears, with null) the warning; true when the stored state changed. */
  async record(sql: Sql, tenantId: string, keyConfigurationId: string, warning: ProbeWarning | null, message: string): Promise<boolean> {
    if (!warning) {
      return (
        (await sql.affected(
          `UPDATE key_configurations SET validation = validation - 'probeWarning'
           WHERE tenant_id = $1 AND id = $2 AND validation->'probeWarning' IS NOT NULL`,
          [tenantId, keyConfigurationId],
        )) > 0
      );
    }
    const stored: StoredProbeWarning = { ...warning, message, since: new Date().toISOString() };
    return (
      (await sql.affected(
        `UPDATE key_configurations SET validation = jsonb_set(validation, '{probeWarning}', $3::jsonb)
         WHERE tenant_id = $1 AND id = $2
           AND (validation->'probeWarning'->>'code', validation->'probeWarning'->>'errorClass') IS DISTINCT FROM ($4::text, $5::text)`,
        [tenantId, keyConfigurationId, JSON.stringify(stored), warning.code, warning.errorClass],
      )) > 0
    );
  }
}
