import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * key_configuration_access: the open revocation episode of a key configuration (first revocation-class answer,
 * denials and allows counted since, start of the current run of allows), so that propagation flapping can neither
 * hold a real revocation back forever nor shred a grant that comes back (docs/ARCHITECTURE.md, "Propagation
 * flapping").
 */
export class RevocationEpisodes1764700000000 implements MigrationInterface {
  name = 'RevocationEpisodes1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE key_configuration_access
        ADD COLUMN episode_started_at timestamptz,
        ADD COLUMN episode_denials integer NOT NULL DEFAULT 0,
        ADD COLUMN episode_allows integer NOT NULL DEFAULT 0,
        ADD COLUMN allow_run_since timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE key_configuration_access
        DROP COLUMN IF EXISTS episode_started_at,
        DROP COLUMN IF EXISTS episode_denials,
        DROP COLUMN IF EXISTS episode_allows,
        DROP COLUMN IF EXISTS allow_run_since`);
  }
}
