import type { DataSource } from 'typeorm';
import type { OperationKindName, OperationRecord } from './keys.repository';
import { rows } from './sql';

export type OperationStateName = OperationRecord['state'];

export interface OperationHistoryRow extends OperationRecord {
  requestedBy: string | null;
  startedAt: Date | null;
  /** created_at at full precision (microseconds) and the id: the keyset of the next page. */
  cursorKey: string;
}

export interface OperationHistoryQuery {
  workspaceId?: string;
  kinds?: readonly OperationKindName[];
  states?: readonly OperationStateName[];
  /** Continue after this row (newest first): what `next` of the previous page carried. */
  after?: { createdAt: string; id: string };
  limit: number;
}

/**
 * The server-side history of a tenant's operations (rotations, re-keys, probes, reinstates), newest first, paged by
 * keyset on (created_at, id) so a page costs the same at any depth (index operations_tenant_history_idx). Always
 * scoped by tenant.
 */
export class OperationHistoryRepository {
  constructor(private readonly ds: DataSource) {}

  async list(tenantId: string, q: OperationHistoryQuery): Promise<OperationHistoryRow[]> {
    const where = ['tenant_id = $1'];
    const params: unknown[] = [tenantId];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.workspaceId) add('workspace_id = ?', q.workspaceId);
    if (q.kinds?.length) add('kind = ANY(?::text[])', q.kinds);
    if (q.states?.length) add('state = ANY(?::text[])', q.states);
    if (q.after) {
      params.push(q.after.createdAt, q.after.id);
      where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(q.limit);
    return rows<OperationHistoryRow>(
      this.ds,
      `SELECT id, tenant_id AS "tenantId", workspace_id AS "workspaceId", kind, state, step, progress_done::float8 AS "progressDone",
              progress_total::float8 AS "progressTotal", error, target_key_configuration_id AS "targetKeyConfigurationId",
              CASE WHEN state = 'succeeded' THEN params->'result' END AS result, requested_by AS "requestedBy",
              created_at AS "createdAt", updated_at AS "updatedAt", started_at AS "startedAt", finished_at AS "finishedAt",
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorKey"
         FROM operations WHERE ${where.join(' AND ')}
        ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
  }
}
