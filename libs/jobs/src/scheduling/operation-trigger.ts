import type { DataSource } from 'typeorm';
import { isOperationKind, OperationKind } from '../contracts';
import type { OperationDispatcher } from '../dispatcher';
import type { AuditSink } from '../ports';
import type { OperationRow, OperationStore } from '../store/operation-store';
import { inTransaction } from '../store/sql';

/**
 * Operations the platform starts by itself (scheduled rotation, probe escalation). The row comes first
 * (de-duplicated by the one-unfinished-per-kind index, so repeated triggers converge on one operation), then the
 * job; if the process dies in between, the reconciler enqueues the row.
 */
export class OperationTrigger {
  constructor(
    private readonly ds: DataSource,
    private readonly operations: OperationStore,
    private readonly dispatcher: OperationDispatcher,
    private readonly audit: AuditSink,
  ) {}

  async trigger(input: {
    tenantId: string;
    workspaceId: string;
    kind: OperationKind;
    reason: string;
    targetKeyConfigurationId?: string;
    /** Extra parameters for the handler (stored with the trigger reason). */
    params?: Record<string, unknown>;
  }): Promise<{ op: OperationRow; created: boolean }> {
    const out = await inTransaction(this.ds, async (sql) => {
      const r = await this.operations.createOrFindUnfinished(sql, {
        tenantId: input.tenantId,
        workspaceId: input.workspaceId,
        kind: input.kind,
        targetKeyConfigurationId: input.targetKeyConfigurationId,
        params: { ...(input.params ?? {}), trigger: input.reason },
        requestedBy: 'system:worker',
      });
      if (r.created)
        await this.audit.append(
          input.tenantId,
          {
            actor: 'system:worker',
            action: 'operation.requested',
            target: `workspace:${input.workspaceId}`,
            outcome: 'success',
            details: { operationId: r.op.id, kind: input.kind, reason: input.reason },
          },
          sql,
        );
      return r;
    });
    if (!isOperationKind(out.op.kind)) throw new Error(`unknown operation kind ${out.op.kind}`);
    await this.dispatcher.dispatch(out.op.kind, { operationId: out.op.id, tenantId: out.op.tenantId });
    return out;
  }
}
