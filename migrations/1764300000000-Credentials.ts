import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Revocable admin credentials and onboarding without a vendor-known secret:
 *  - admin_users.disabled / session_generation: every change to a user (disable, role change, password change,
 *    delete) bumps the generation; access tokens carry the generation they were issued under and are refused once
 *    it moves on. password_hash stays NOT NULL: a user row is created only when the invitee chooses their own
 *    password (invitation acceptance), never by whoever invited them.
 *  - one_time_links: invitations (a new admin or auditor) and password resets. Only a SHA-256 of the emailed token
 *    is stored; a link is used at most once (consumed_at) and expires.
 */
export class Credentials1764300000000 implements MigrationInterface {
  name = 'Credentials1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE admin_users
        ADD COLUMN disabled boolean NOT NULL DEFAULT false,
        ADD COLUMN session_generation integer NOT NULL DEFAULT 1 CHECK (session_generation > 0),
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`
      CREATE TABLE one_time_links (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('invitation', 'password_reset')),
        email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
        role text CHECK (role IN ('key_admin', 'auditor')),
        admin_user_id uuid,
        token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        consumed_at timestamptz,
        revoked_at timestamptz,
        UNIQUE (tenant_id, id),
        CHECK ((kind = 'invitation') = (role IS NOT NULL)),
        FOREIGN KEY (tenant_id, admin_user_id) REFERENCES admin_users(tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX one_time_links_tenant_idx ON one_time_links (tenant_id, kind, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS one_time_links`);
    await q.query(
      `ALTER TABLE admin_users DROP COLUMN IF EXISTS disabled, DROP COLUMN IF EXISTS session_generation, DROP COLUMN IF EXISTS updated_at`,
    );
  }
}
