import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Service-principal credentials that can be taken back:
 *  - service_principal_secrets: one row per live client secret (hash only), each with an optional expiry. A
 *    rotation adds a row and gives the older ones an expiry (the overlap the admin chose); the token endpoint
 *    accepts a secret only before its expiry and access tokens name the secret they were issued for, so they stop
 *    with it. Revoking a secret deletes its row.
 *  - service_principals.generation: bumped by every change to a principal (disable, scope, secrets, allow-list).
 *    API replicas remember the generation they cached and re-read on a change: the fallback when a pub/sub
 *    invalidation is lost.
 *  - service_principals.ip_allow_list: optional CIDR list the principal may call from (empty = anywhere).
 */
export class ServicePrincipalCredentials1764500000000 implements MigrationInterface {
  name = 'ServicePrincipalCredentials1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE service_principal_secrets (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        service_principal_id uuid NOT NULL,
        secret_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        FOREIGN KEY (tenant_id, service_principal_id) REFERENCES service_principals(tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX sps_principal_idx ON service_principal_secrets (service_principal_id)`);
    await q.query(`
      INSERT INTO service_principal_secrets (id, tenant_id, service_principal_id, secret_hash, created_at)
      SELECT gen_random_uuid(), tenant_id, id, secret_hash, created_at FROM service_principals`);
    await q.query(`
      ALTER TABLE service_principals
        DROP COLUMN secret_hash,
        ADD COLUMN generation bigint NOT NULL DEFAULT 1,
        ADD COLUMN ip_allow_list text[] NOT NULL DEFAULT '{}',
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE service_principals ADD COLUMN secret_hash text`);
    // The newest secret of each principal becomes its only one again.
    await q.query(`
      UPDATE service_principals sp SET secret_hash = s.secret_hash FROM (
        SELECT DISTINCT ON (service_principal_id) service_principal_id, secret_hash FROM service_principal_secrets
        ORDER BY service_principal_id, created_at DESC) s
      WHERE s.service_principal_id = sp.id`);
    // A principal left without any secret cannot authenticate: keep it that way (disabled, unusable hash).
    await q.query(`UPDATE service_principals SET disabled = true, secret_hash = '!' WHERE secret_hash IS NULL`);
    await q.query(
      `ALTER TABLE service_principals ALTER COLUMN secret_hash SET NOT NULL, DROP COLUMN generation, DROP COLUMN ip_allow_list, DROP COLUMN updated_at`,
    );
    await q.query(`DROP TABLE service_principal_secrets`);
  }
}
