import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Segment-level crypto-shred and the per-workspace DEK quota:
 *  - segment_tombstones: one row per destroyed segment (who, when), kept for good. The DEK row itself is deleted.
 *  - deks_refuse_destroyed: a BEFORE INSERT trigger that silently skips a DEK row whose segment has a tombstone.
 *    It takes a shared transaction-level advisory lock on the workspace; a destroy takes the exclusive one
 *    before writing its tombstone and deleting the row. So a create racing a destroy either commits first (and
 *    the destroy then deletes its row) or waits and sees the tombstone: never a live DEK under a dead id. One lock
 *    per workspace, not per segment: re-taking a held lock costs no lock-table slot, while one lock per row made a
 *    large insert (or a few concurrent 1,000-DEK batches) exhaust Postgres's lock table ("out of shared memory").
 *  - workspace_dek_counts: DEK slots reserved per workspace. Creators reserve slots with one conditional
 *    upsert before inserting (the grant never takes the count past the quota, whatever runs concurrently),
 *    give back what they did not use, and a destroy frees its slot.
 *  - workspaces.segment_epoch: bumped by every segment destroy. The DEK caches' fallback poll compares
 *    state_version + segment_epoch, so a replica that missed the destroy message drops the workspace's cached
 *    rows within one poll interval. Not folded into state_version: that one is the workers' compare-and-set.
 */
export class SegmentTombstonesAndDekQuota1764100000000 implements MigrationInterface {
  name = 'SegmentTombstonesAndDekQuota1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE segment_tombstones (
        tenant_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        segment_id text NOT NULL CHECK (length(segment_id) BETWEEN 1 AND 256),
        destroyed_at timestamptz NOT NULL DEFAULT now(),
        destroyed_by text NOT NULL,
        PRIMARY KEY (workspace_id, segment_id),
        FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces(tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE TABLE workspace_dek_counts (
        workspace_id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        last_grant bigint NOT NULL DEFAULT 0,
        FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces(tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`
      INSERT INTO workspace_dek_counts (workspace_id, tenant_id, reserved)
      SELECT w.id, w.tenant_id, (SELECT count(*) FROM deks d WHERE d.workspace_id = w.id) FROM workspaces w`);
    await q.query(`ALTER TABLE workspaces ADD COLUMN segment_epoch bigint NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE FUNCTION deks_refuse_destroyed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(hashtextextended(NEW.workspace_id::text, 7411));
        IF EXISTS (SELECT 1 FROM segment_tombstones t WHERE t.workspace_id = NEW.workspace_id AND t.segment_id = NEW.segment_id) THEN
          RETURN NULL;
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(
      `CREATE TRIGGER deks_refuse_destroyed BEFORE INSERT ON deks FOR EACH ROW EXECUTE FUNCTION deks_refuse_destroyed()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS deks_refuse_destroyed ON deks`);
    await q.query(`DROP FUNCTION IF EXISTS deks_refuse_destroyed()`);
    await q.query(`ALTER TABLE workspaces DROP COLUMN IF EXISTS segment_epoch`);
    await q.query(`DROP TABLE IF EXISTS workspace_dek_counts`);
    await q.query(`DROP TABLE IF EXISTS segment_tombstones`);
  }
}
