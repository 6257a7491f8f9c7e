import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Single sign-on per tenant (OpenID Connect).
 *  - sso_configurations: one per tenant. The client secret is stored only encrypted (AES-256-GCM under a key held
 *    outside Postgres, bound to the tenant), never returned by the API. `version` changes on every update so a
 *    sign-in started under an older configuration cannot finish under the new one. The break-glass admin is a
 *    key admin of the same tenant (composite foreign key); deleting that user clears the column, after which no
 *    password sign-in is possible for an SSO-required tenant until a key admin (signed in through SSO) names another.
 *  - sso_identities: which IdP subject an admin user signed in as. The first sign-in links by email; afterwards
 *    the (issuer, subject) pair must match, so an IdP account that later takes over another person's address
 *    cannot become that person here.
 */
export class SsoConfigurations1764700000000 implements MigrationInterface {
  name = 'SsoConfigurations1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sso_configurations (
        tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
        issuer text NOT NULL,
        client_id text NOT NULL,
        client_secret_sealed bytea NOT NULL,
        allowed_email_domains text[] NOT NULL,
        groups_claim text NOT NULL DEFAULT 'groups',
        role_mappings jsonb NOT NULL,
        sso_required boolean NOT NULL DEFAULT false,
        break_glass_admin_user_id uuid,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (tenant_id, break_glass_admin_user_id) REFERENCES admin_users(tenant_id, id) ON DELETE SET NULL (break_glass_admin_user_id)
      )`);
    await q.query(`
      CREATE TABLE sso_identities (
        tenant_id uuid NOT NULL,
        admin_user_id uuid NOT NULL,
        issuer text NOT NULL,
        subject text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, issuer, subject),
        UNIQUE (tenant_id, admin_user_id, issuer),
        FOREIGN KEY (tenant_id, admin_user_id) REFERENCES admin_users(tenant_id, id) ON DELETE CASCADE
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS sso_identities`);
    await q.query(`DROP TABLE IF EXISTS sso_configurations`);
  }
}
