import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the worker needs on top of the initial schema:
 *  - kek_versions.previous_*: the wrapped form a CMK rewrap or re-key replaced, kept until the next change, so a
 *    customer who must roll back (re-enable the old key version, undo a re-key) loses nothing;
 *    rewrapped_at drives the "maximum age of a wrapped KEK" rewrap trigger.
 *  - key_configuration_access: per key configuration, the revocation-confirmation record (consecutive
 *    revocation-class probe results and when the first one was seen) and probe bookkeeping. One row per
 *    configuration, row-locked while a probe result is applied, so concurrent probes cannot double count.
 */
export class JobsSupport1763890000000 implements MigrationInterface {
  name = 'JobsSupport1763890000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE kek_versions
        ADD COLUMN previous_wrapped bytea,
        ADD COLUMN previous_key_configuration_id uuid,
        ADD COLUMN previous_provider_key_version text,
        ADD COLUMN rewrapped_at timestamptz`);
    await q.query(`
      CREATE TABLE key_configuration_access (
        tenant_id uuid NOT NULL,
        key_configuration_id uuid NOT NULL,
        provider text NOT NULL,
        consecutive_definitive integer NOT NULL DEFAULT 0 CHECK (consecutive_definitive >= 0),
        first_definitive_at timestamptz,
        last_error_class text,
        last_verdict text,
        last_probe_at timestamptz,
        last_ok_at timestamptz,
        PRIMARY KEY (tenant_id, key_configuration_id),
        FOREIGN KEY (tenant_id, key_configuration_id) REFERENCES key_configurations(tenant_id, id) ON DELETE CASCADE
      )`);
    // Positive control: "did any other configuration of this provider answer recently?"
    await q.query(
      `CREATE INDEX key_configuration_access_provider_ok_idx ON key_configuration_access (provider, last_ok_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS key_configuration_access`);
    await q.query(`
      ALTER TABLE kek_versions
        DROP COLUMN IF EXISTS previous_wrapped,
        DROP COLUMN IF EXISTS previous_key_configuration_id,
        DROP COLUMN IF EXISTS previous_provider_key_version,
        DROP COLUMN IF EXISTS rewrapped_at`);
  }
}
