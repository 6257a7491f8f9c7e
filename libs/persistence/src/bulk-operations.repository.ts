import type { DataSource } from 'typeorm';
import { one, Queryable, rows } from './sql';

export type BulkAction = 'bind' | 'rekey' | 'rewrap';
export type BulkItemOutcome = 'pending' | 'bound' | 'dispatched' | 'failed';

export interface BulkOperationRow {
  id: string;
  tenantId: string;
  action: BulkAction;
  keyConfigurationId: string;
  requestedBy: string;
  createdAt: Date;
}

/** One workspace of a bulk operation, with its child operation's state when the item became one. */
export interface BulkItemRow {
  workspaceId: string;
  workspaceName: string | null;
  outcome: BulkItemOutcome;
  operationId: string | null;
  errorCode: string | null;
  error: string | null;
  updatedAt: Date;
  childState: 'queued' | 'running' | 'succeeded' | 'failed' | null;
  childError: string | null;
}

/**
 * Bulk actions (bind, re-key, rewrap a selection of workspaces): the parent row and one item per workspace. The
 * items' outcomes are written as each workspace is handled; a re-key or rewrap item points to the ordinary operation
 * the worker runs, whose state is read live, so the parent's progress is always what its children did.
 */
export class BulkOperationRepository {
  constructor(private readonly ds: DataSource) {}

  /** The parent and its pending items, in the caller's transaction (with its audit record). */
  async create(
    db: Queryable,
    tenantId: string,
    b: { id: string; action: BulkAction; keyConfigurationId: string; requestedBy: string },
    workspaceIds: readonly string[],
  ) {
    await db.query(
      `INSERT INTO bulk_operations (id, tenant_id, action, key_configuration_id, requested_by) VALUES ($1, $2, $3, $4, $5)`,
      [b.id, tenantId, b.action, b.keyConfigurationId, b.requestedBy],
    );
    await db.query(
      `INSERT INTO bulk_operation_items (tenant_id, bulk_operation_id, workspace_id, position)
       SELECT $1, $2, w, p::int FROM unnest($3::uuid[]) WITH ORDINALITY AS t(w, p)`,
      [tenantId, b.id, workspaceIds],
    );
  }

  async recordItem(
    tenantId: string,
    bulkId: string,
    workspaceId: string,
    r: { outcome: Exclude<BulkItemOutcome, 'pending'>; operationId?: string; errorCode?: string; error?: string },
  ) {
    await this.ds.query(
      `UPDATE bulk_operation_items SET outcome = $4, operation_id = $5, error_code = $6, error = $7, updated_at = now()
       WHERE tenant_id = $1 AND bulk_operation_id = $2 AND workspace_id = $3 AND outcome = 'pending'`,
      [
        tenantId,
        bulkId,
        workspaceId,
        r.outcome,
        r.operationId ?? null,
        r.errorCode ?? null,
        r.error?.slice(0, 1000) ?? null,
      ],
    );
  }

  /** The workspaces still to handle, in selection order (what a worker, or the one resuming after it, works through). */
  async pendingWorkspaces(tenantId: string, id: string): Promise<string[]> {
    const r = await rows<{ workspaceId: string }>(
      this.ds,
      `SELECT workspace_id AS "workspaceId" FROM bulk_operation_items
        WHERE tenant_id = $1 AND bulk_operation_id = $2 AND outcome = 'pending' ORDER BY position`,
      [tenantId, id],
    );
    return r.map((i) => i.workspaceId);
  }

  /**
   * Bulk operations with pending items none of which was touched for `staleMs` (the reconciler checks that each
   * still has a live job), oldest first, at most `limit`.
   */
  listStale(staleMs: number, limit = 500): Promise<Array<{ id: string; tenantId: string }>> {
    return rows<{ id: string; tenantId: string }>(
      this.ds,
      `SELECT bulk_operation_id AS id, tenant_id AS "tenantId" FROM bulk_operation_items
        WHERE outcome = 'pending'
        GROUP BY tenant_id, bulk_operation_id
       HAVING max(updated_at) < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY max(updated_at) LIMIT $2`,
      [staleMs, limit],
    );
  }

  find(tenantId: string, id: string): Promise<BulkOperationRow | null> {
    return one<BulkOperationRow>(
      this.ds,
      `SELECT id, tenant_id AS "tenantId", action, key_configuration_id AS "keyConfigurationId", requested_by AS "requestedBy", created_at AS "createdAt"
         FROM bulk_operations WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
  }

  /** The items in selection order, each with its workspace's name and its child operation's state. */
  items(tenantId: string, id: string): Promise<BulkItemRow[]> {
    return rows<BulkItemRow>(
      this.ds,
      `SELECT i.workspace_id AS "workspaceId", w.name AS "workspaceName", i.outcome, i.operation_id AS "operationId",
              i.error_code AS "errorCode", i.error, i.updated_at AS "updatedAt", o.state AS "childState", o.error AS "childError"
         FROM bulk_operation_items i
         LEFT JOIN workspaces w ON w.tenant_id = i.tenant_id AND w.id = i.workspace_id
         LEFT JOIN operations o ON o.tenant_id = i.tenant_id AND o.id = i.operation_id
        WHERE i.tenant_id = $1 AND i.bulk_operation_id = $2
        ORDER BY i.position`,
      [tenantId, id],
    );
  }
}
