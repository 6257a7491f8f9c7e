import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tenant-wide operations history (GET …/operations) pages newest first by (created_at, id): an index in that
 * order keeps every page an index range scan, however many operations a tenant has run. The per-workspace history
 * uses operations_workspace_idx.
 */
export class OperationsHistoryIndex1764700000001 implements MigrationInterface {
  name = 'OperationsHistoryIndex1764700000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX operations_tenant_history_idx ON operations (tenant_id, created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS operations_tenant_history_idx`);
  }
}
