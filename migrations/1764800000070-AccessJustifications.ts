import type { MigrationInterface, QueryRunner } from 'typeorm';

const REASONS = `ARRAY['CUSTOMER_INITIATED', 'SCHEDULED_JOB', 'BACKUP', 'MIGRATION', 'VENDOR_SUPPORT', 'EMERGENCY']::text[]`;

/**
 * Key access justifications (docs/ARCHITECTURE.md, "Key access justifications"): the reasons each service principal
 * may give for a DEK request (by default every reason but the vendor's support staff and emergency access, which a
 * key admin grants explicitly), and each workspace's policy (reasons it refuses, whether a reason is required).
 * The index serves the key-use-by-reason report over the aggregated issuance records.
 */
export class AccessJustifications1764800000070 implements MigrationInterface {
  name = 'AccessJustifications1764800000070';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE service_principals
        ADD COLUMN allowed_access_reasons text[] NOT NULL DEFAULT '{CUSTOMER_INITIATED,SCHEDULED_JOB,BACKUP,MIGRATION}'
        CONSTRAINT service_principals_allowed_access_reasons_known CHECK (allowed_access_reasons <@ ${REASONS})`);
    await q.query(`
      ALTER TABLE workspaces
        ADD COLUMN denied_access_reasons text[] NOT NULL DEFAULT '{}'
          CONSTRAINT workspaces_denied_access_reasons_known CHECK (denied_access_reasons <@ ${REASONS}),
        ADD COLUMN access_reason_required boolean NOT NULL DEFAULT false`);
    await q.query(`
      CREATE INDEX audit_events_key_use ON audit_events (tenant_id, at)
        WHERE action IN ('dek.issued', 'dek.access_denied')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS audit_events_key_use`);
    await q.query(
      `ALTER TABLE workspaces DROP COLUMN IF EXISTS denied_access_reasons, DROP COLUMN IF EXISTS access_reason_required`,
    );
    await q.query(`ALTER TABLE service_principals DROP COLUMN IF EXISTS allowed_access_reasons`);
  }
}
