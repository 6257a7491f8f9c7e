import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit list's filters (GET …/audit-events: action or action prefix, actor, workspace, time). Each index ends
 * in seq, the order pages are read in, so a page of a rare action, one actor or one workspace is an index range
 * scan over the matching events instead of a walk of the tenant's whole log. `text_pattern_ops` lets the action
 * prefixes (`action LIKE 'dek.%'`) use the index whatever the database's collation. The workspace expression must
 * stay identical to AUDIT_WORKSPACE_SQL (libs/audit/src/audit-query.ts). Audit rows are append-only: the indexes
 * change no row and no hash.
 */
export class AuditListFilters1764800000200 implements MigrationInterface {
  name = 'AuditListFilters1764800000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX audit_events_action_idx ON audit_events (tenant_id, action text_pattern_ops, seq)`);
    await q.query(`CREATE INDEX audit_events_actor_idx ON audit_events (tenant_id, actor, seq)`);
    await q.query(`
      CREATE INDEX audit_events_workspace_idx ON audit_events
        (tenant_id, (COALESCE(details->>'workspaceId', CASE WHEN left(target, 10) = 'workspace:' THEN substr(target, 11) END)), seq)`);
    await q.query(`CREATE INDEX audit_events_at_idx ON audit_events (tenant_id, at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const i of [
      'audit_events_at_idx',
      'audit_events_workspace_idx',
      'audit_events_actor_idx',
      'audit_events_action_idx',
    ])
      await q.query(`DROP INDEX IF EXISTS ${i}`);
  }
}
