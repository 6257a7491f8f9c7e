import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Service principals carry permissions. Every existing and new principal may fetch DEKs (`dek:fetch`); only a
 * key admin grants `dek:destroy` (segment-level crypto-shred).
 */
export class ServicePrincipalPermissions1764100000001 implements MigrationInterface {
  name = 'ServicePrincipalPermissions1764100000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE service_principals
        ADD COLUMN permissions text[] NOT NULL DEFAULT '{dek:fetch}'
        CHECK (permissions <@ ARRAY['dek:fetch', 'dek:destroy']::text[])`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE service_principals DROP COLUMN IF EXISTS permissions`);
  }
}
