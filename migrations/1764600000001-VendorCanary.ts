import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * vendor_canary_status: the last result of each provider's vendor-owned canary (a key and identity in the vendor's
 * own account, probed through the same identity path as customer keys). Written by workers, read by the API for
 * /metrics and the operator route. Platform data only: no tenant id, no customer key.
 */
export class VendorCanary1764600000001 implements MigrationInterface {
  name = 'VendorCanary1764600000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE vendor_canary_status (
        provider text PRIMARY KEY,
        healthy boolean NOT NULL,
        error_class text,
        provider_code text,
        target text NOT NULL,
        checked_at timestamptz NOT NULL,
        unhealthy_since timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS vendor_canary_status`);
  }
}
