import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lists that scale and bulk actions.
 *
 * Every list route pages by keyset on (sort key, id) within a tenant (libs/persistence/src/keyset.ts); each sort key
 * gets an index in exactly that order, so a page is an index range scan whose cost does not grow with the tenant.
 * The name search (`ILIKE '%…%'`) uses a trigram index; the filters by key configuration and degraded have their own
 * index in creation order. The two older workspace indexes are replaced by ones that end with the id (the keyset's
 * tie-breaker); the key configuration one still serves the foreign key and `boundTo`.
 *
 * Bulk operations: one parent row per bulk action and one item per workspace, with the item's outcome and, when the
 * item became a long operation (re-key, CMK rewrap), the id of that child operation.
 */
export class ListsAndBulkOperations1764800000000 implements MigrationInterface {
  name = 'ListsAndBulkOperations1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`DROP INDEX IF EXISTS workspaces_tenant_idx`);
    await q.query(`DROP INDEX IF EXISTS workspaces_key_configuration_idx`);
    await q.query(`CREATE INDEX workspaces_tenant_created_idx ON workspaces (tenant_id, created_at, id)`);
    await q.query(`CREATE INDEX workspaces_tenant_name_idx ON workspaces (tenant_id, name, id)`);
    await q.query(
      `CREATE INDEX workspaces_key_configuration_idx ON workspaces (tenant_id, key_configuration_id, created_at, id)`,
    );
    await q.query(`CREATE INDEX workspaces_tenant_state_idx ON workspaces (tenant_id, key_state, created_at, id)`);
    await q.query(`CREATE INDEX workspaces_degraded_idx ON workspaces (tenant_id, created_at, id) WHERE degraded`);
    await q.query(`CREATE INDEX workspaces_name_trgm_idx ON workspaces USING gin (name gin_trgm_ops)`);
    await q.query(
      `CREATE INDEX key_configurations_tenant_created_idx ON key_configurations (tenant_id, created_at, id)`,
    );
    await q.query(`CREATE INDEX key_configurations_tenant_name_idx ON key_configurations (tenant_id, name, id)`);
    await q.query(
      `CREATE INDEX service_principals_tenant_created_idx ON service_principals (tenant_id, created_at, id)`,
    );
    await q.query(`CREATE INDEX service_principals_tenant_name_idx ON service_principals (tenant_id, name, id)`);

    await q.query(`
      CREATE TABLE bulk_operations (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        action text NOT NULL CHECK (action IN ('bind', 'rekey', 'rewrap')),
        key_configuration_id uuid NOT NULL,
        requested_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, id)
      )`);
    await q.query(`CREATE INDEX bulk_operations_tenant_idx ON bulk_operations (tenant_id, created_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE bulk_operation_items (
        tenant_id uuid NOT NULL,
        bulk_operation_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        position int NOT NULL,
        outcome text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'bound', 'dispatched', 'failed')),
        operation_id uuid,
        error_code text,
        error text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (bulk_operation_id, workspace_id),
        FOREIGN KEY (tenant_id, bulk_operation_id) REFERENCES bulk_operations (tenant_id, id) ON DELETE CASCADE
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS bulk_operation_items`);
    await q.query(`DROP TABLE IF EXISTS bulk_operations`);
    for (const i of [
      'service_principals_tenant_name_idx',
      'service_principals_tenant_created_idx',
      'key_configurations_tenant_name_idx',
      'key_configurations_tenant_created_idx',
      'workspaces_name_trgm_idx',
      'workspaces_degraded_idx',
      'workspaces_tenant_state_idx',
      'workspaces_key_configuration_idx',
      'workspaces_tenant_name_idx',
      'workspaces_tenant_created_idx',
    ])
      await q.query(`DROP INDEX IF EXISTS ${i}`);
    await q.query(`CREATE INDEX workspaces_tenant_idx ON workspaces (tenant_id, created_at)`);
    await q.query(`CREATE INDEX workspaces_key_configuration_idx ON workspaces (tenant_id, key_configuration_id)`);
  }
}
