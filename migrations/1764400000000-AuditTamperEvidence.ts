import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit tamper evidence (docs/AUDIT.md): a keyed MAC per record and on the head, Ed25519-signed checkpoints, and
 * triggers that make the audit tables append-only for every session that has not switched triggers off.
 *
 * The head row is the one audit row that changes: the trigger lets it move forward only (a higher seq, same
 * tenant), which is exactly what an append does; rewinding it, deleting it or truncating any audit table raises.
 * A superuser can still bypass the triggers (`session_replication_role = replica`, DROP TRIGGER, or writing the
 * files): what catches that is verification, because the MACs need a key Postgres never sees and the checkpoints
 * are signed with a key it never sees either.
 *
 * Records written before this migration carry no MAC; the log must be started afresh (no deployment has audit
 * data yet).
 */
export class AuditTamperEvidence1764400000000 implements MigrationInterface {
  name = 'AuditTamperEvidence1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_events ADD COLUMN mac text`);
    await q.query(`ALTER TABLE audit_heads ADD COLUMN mac text`);
    await q.query(`
      CREATE TABLE audit_checkpoints (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        seq bigint NOT NULL CHECK (seq > 0),
        head_hash text NOT NULL,
        at timestamptz NOT NULL,
        key_id text NOT NULL,
        signature text NOT NULL,
        PRIMARY KEY (tenant_id, seq)
      )`);
    await q.query(`
      CREATE FUNCTION keyhold_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_LEVEL = 'ROW' AND TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_heads' THEN
          IF NEW.tenant_id = OLD.tenant_id AND NEW.seq > OLD.seq THEN
            RETURN NEW;
          END IF;
        END IF;
        RAISE EXCEPTION 'audit tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const t of ['audit_events', 'audit_heads', 'audit_checkpoints']) {
      await q.query(
        `CREATE TRIGGER ${t}_append_only BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION keyhold_audit_append_only()`,
      );
      await q.query(
        `CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION keyhold_audit_append_only()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['audit_events', 'audit_heads', 'audit_checkpoints']) {
      await q.query(`DROP TRIGGER IF EXISTS ${t}_append_only ON ${t}`);
      await q.query(`DROP TRIGGER IF EXISTS ${t}_no_truncate ON ${t}`);
    }
    await q.query(`DROP FUNCTION IF EXISTS keyhold_audit_append_only()`);
    await q.query(`DROP TABLE IF EXISTS audit_checkpoints`);
    await q.query(`ALTER TABLE audit_heads DROP COLUMN IF EXISTS mac`);
    await q.query(`ALTER TABLE audit_events DROP COLUMN IF EXISTS mac`);
  }
}
