import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * workspaces.kek_generation: the one per-workspace counter whose change means "every replica must drop this
 * workspace's cached plaintext KEKs". state_version stays the compare-and-set token of every change; it also moves
 * on an access_suspect flip, which must never cost a cached KEK (a KMS outage is exactly when the cache is needed).
 *
 * The trigger is the single definition of what bumps it, whichever layer writes the row: a change of key
 * configuration (bind, re-key), of the current KEK version (rotation switch), leaving `kek_rotating` (old versions
 * retired), and any state change into or out of a state outside the serving set (shredded, destroyed, unbound,
 * provisioning). Degraded flips and active ⇄ access_suspect never bump it.
 */
export class KekGeneration1764600000000 implements MigrationInterface {
  name = 'KekGeneration1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workspaces ADD COLUMN kek_generation bigint NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE FUNCTION workspaces_kek_generation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.key_configuration_id IS DISTINCT FROM OLD.key_configuration_id
           OR NEW.current_kek_version IS DISTINCT FROM OLD.current_kek_version
           OR (NEW.key_state IS DISTINCT FROM OLD.key_state AND (
                 NEW.key_state NOT IN ('active', 'access_suspect', 'rewrapping', 'rekeying', 'kek_rotating')
                 OR OLD.key_state NOT IN ('active', 'access_suspect', 'rewrapping', 'rekeying')))
        THEN
          NEW.kek_generation := OLD.kek_generation + 1;
        ELSE
          -- nobody else moves it, so a write can never move the generation backwards or sideways
          NEW.kek_generation := OLD.kek_generation;
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER workspaces_kek_generation BEFORE UPDATE ON workspaces
        FOR EACH ROW EXECUTE FUNCTION workspaces_kek_generation()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS workspaces_kek_generation ON workspaces`);
    await q.query(`DROP FUNCTION IF EXISTS workspaces_kek_generation()`);
    await q.query(`ALTER TABLE workspaces DROP COLUMN IF EXISTS kek_generation`);
  }
}
