import type { OperationRow, Repositories } from '@app/persistence';
import { isOperationKind, OperationKind } from '../contracts';
import type { OperationDispatcher } from '../dispatcher';
import type { AuditSink } from '../ports';

/**
 * Operations the platform starts by itself (scheduled rotation, probe escalation). The row comes first
 * (de-duplicated by the one-unfinished-per-kind index, so repeated triggers converge on one operation), then the
 * job; if the process dies in between, the reconciler enqueues the row.
 */
export class OperationTrigger {
  constructor(
    private readonly repos: Repositories,
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
  }): Promise<{ operation: OperationRow; created: boolean }> {
    const out = await this.repos.ds.transaction(async (m) => {
      const r = await this.repos.operations.createOrGetUnfinished(
        input.tenantId,
        {
          workspaceId: input.workspaceId,
          kind: input.kind,
          targetKeyConfigurationId: input.targetKeyConfigurationId,
          params: { ...(input.params ?? {}), trigger: input.reason },
          requestedBy: 'system:worker',
        },
        m,
      );
      if (r.created)
        await this.audit.append(
          input.tenantId,
          {
            actor: 'system:worker',
            action: 'operation.requested',
            target: `workspace:${input.workspaceId}`,
            outcome: 'success',
            details: { operationId: r.operation.id, kind: input.kind, reason: input.reason },
          },
          m,
        );
      return r;
    });
    if (!isOperationKind(out.operation.kind)) throw new Error(`unknown operation kind ${out.operation.kind}`);
    await this.dispatcher.dispatch(out.operation.kind, {
      operationId: out.operation.id,
      tenantId: out.operation.tenantId,
    });
    return out;
  }
}
