import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bulk operations are handled by the worker: it (and the reconciler, which re-enqueues a bulk operation whose job
 * was lost) reads the pending items. A partial index keeps that read proportional to the work left, not to every
 * item ever recorded.
 */
export class BulkPendingItems1764800000090 implements MigrationInterface {
  name = 'BulkPendingItems1764800000090';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX bulk_operation_items_pending_idx ON bulk_operation_items (tenant_id, bulk_operation_id, position) WHERE outcome = 'pending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS bulk_operation_items_pending_idx`);
  }
}
