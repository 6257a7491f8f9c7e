import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Second factors of tenant admin users (TOTP authenticators and WebAuthn passkeys), their one-time recovery codes,
 * and each tenant's MFA policy. Factors and codes belong to (tenant_id, admin_user_id): deleting the user or the
 * tenant deletes them. TOTP secrets are stored encrypted (AES-256-GCM, key outside Postgres); recovery codes as
 * SHA-256 of 80 random bits (never the code). `last_used_step` makes a TOTP code single-use within its window;
 * `sign_count` is the passkey's signature counter (a clone that replays an older count is refused).
 */
export class AdminMfa1764700000100 implements MigrationInterface {
  name = 'AdminMfa1764700000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE admin_mfa_factors (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        admin_user_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('totp', 'passkey')),
        label text NOT NULL,
        confirmed boolean NOT NULL DEFAULT false,
        totp_secret bytea,
        last_used_step bigint,
        credential_id text,
        public_key bytea,
        sign_count bigint,
        transports text[],
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        FOREIGN KEY (tenant_id, admin_user_id) REFERENCES admin_users (tenant_id, id) ON DELETE CASCADE,
        CHECK (kind <> 'totp' OR totp_secret IS NOT NULL),
        CHECK (kind <> 'passkey' OR (credential_id IS NOT NULL AND public_key IS NOT NULL AND sign_count IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX admin_mfa_factors_user ON admin_mfa_factors (tenant_id, admin_user_id)`);
    // A passkey credential id names one authenticator key pair: never registered twice, in any tenant.
    await q.query(
      `CREATE UNIQUE INDEX admin_mfa_factors_credential ON admin_mfa_factors (credential_id) WHERE credential_id IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE admin_recovery_codes (
        tenant_id uuid NOT NULL,
        admin_user_id uuid NOT NULL,
        code_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        used_at timestamptz,
        PRIMARY KEY (tenant_id, admin_user_id, code_hash),
        FOREIGN KEY (tenant_id, admin_user_id) REFERENCES admin_users (tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE TABLE tenant_mfa_policies (
        tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
        policy text NOT NULL CHECK (policy IN ('none', 'mfa_required', 'passkey_required_for_key_admins')),
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS tenant_mfa_policies`);
    await q.query(`DROP TABLE IF EXISTS admin_recovery_codes`);
    await q.query(`DROP TABLE IF EXISTS admin_mfa_factors`);
  }
}
