import type { DataSource } from 'typeorm';
import type { HandlerResult, OperationContext, OperationHandler } from '../engine/operation-handler';
import type { AuditSink, KekCacheControl } from '../ports';
import type { OperationRow } from '../store/operation-store';
import { inTransaction, withSql } from '../store/sql';
import type { WorkspaceKeyStore } from '../store/workspace-key-store';
import { isPermanent } from './cmk-rewrap.handler';
import { OperationFailure } from './operation-errors';
import type { RewrapUnderKey } from './rewrap-under-key';
import { enterWorkingState, leaveWorkingState } from './workspace-guard';

/**
 * Re-key: move a workspace to another key configuration, possibly in another cloud. Unwrap each live KEK version
 * under the old configuration, wrap under the new one, verify, compare-and-set the KEK row (each row names the
 * configuration that wraps it, so a cold unwrap on the DEK path always pairs the right key with the right
 * blob, before, during and after the move). Last, the binding switches in one compare-and-set on the
 * workspace, which also deletes every form under the old configuration (previous_*). DEKs are served throughout.
 * On a permanent failure, rows already moved are moved back (from previous_*, which exists only while this runs).
 */
export class RekeyHandler implements OperationHandler {
  readonly kind = 'rekey';

  constructor(
    private readonly ds: DataSource,
    private readonly store: WorkspaceKeyStore,
    private readonly rewrap: RewrapUnderKey,
    private readonly cache: KekCacheControl,
    private readonly audit: AuditSink,
  ) {}

  lockKey(op: OperationRow): string {
    return `workspace:${op.workspaceId}`;
  }

  async execute(ctx: OperationContext): Promise<HandlerResult> {
    const { tenantId, workspaceId } = ctx.op;
    const targetId = ctx.op.targetKeyConfigurationId ?? (ctx.op.params.targetKeyConfigurationId as string | undefined);
    if (!targetId) throw new OperationFailure('KEY_CONFIGURATION_NOT_FOUND', 'the re-key operation names no target key configuration');
    const target = await withSql(this.ds, (sql) => this.store.keyConfiguration(sql, tenantId, targetId));
    if (!target) throw new OperationFailure('KEY_CONFIGURATION_NOT_FOUND', 'the target key configuration no longer exists');
    if (target.status !== 'valid') {
      throw new OperationFailure('KEY_CONFIGURATION_INVALID', 'the target key configuration did not pass validation; validate it again first');
    }

    const ws = await enterWorkingState(this.ds, this.store, tenantId, workspaceId, 'rekeying');
    const fromId = (ctx.op.params.fromKeyConfigurationId as string | undefined) ?? ws.keyConfigurationId;
    await ctx.step('rekeying', { fromKeyConfigurationId: fromId, targetKeyConfigurationId: targetId });
    try {
      const { rewrapped } = await this.rewrap.execute({ tenantId, workspaceId, target, targetKeyVersion: 'any', signal: ctx.signal });
      await ctx.step('rewrapped', { rewrappedVersions: rewrapped });

      const switched = await inTransaction(this.ds, async (sql) => {
        const live = await this.store.liveKeks(sql, tenantId, workspaceId);
        if (live.some((k) => k.keyConfigurationId !== targetId)) return false;
        if (!(await this.store.transition(sql, tenantId, workspaceId, ['rekeying'], 'active', { keyConfigurationId: targetId }))) return false;
        await this.audit.append(
          tenantId,
          {
            actor: 'system:worker',
            action: 'workspace.rekeyed',
            target: `workspace:${workspaceId}`,
            outcome: 'success',
            details: { operationId: ctx.op.id, from: fromId, to: targetId, provider: target.provider, kekVersions: rewrapped },
          },
          sql,
        );
        // The rollback was the only reader of the forms under the old configuration: they go in the transaction
        // that commits the new binding, so no instant exists after the switch in which the old key still opens them.
        await this.store.dropPreviousForms(sql, tenantId, workspaceId);
        return true;
      });
      if (!switched) throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace changed during the re-key; nothing was switched');
      await this.cache.invalidateWorkspace(tenantId, workspaceId);
      return { kind: 'done', result: { keyConfigurationId: targetId, kekVersions: rewrapped } };
    } catch (err) {
      if (isPermanent(err)) await this.rollBack(tenantId, workspaceId, targetId);
      throw err;
    }
  }

  /** Put rows already moved to the target back on their previous wrapping, then leave rekeying. */
  private async rollBack(tenantId: string, workspaceId: string, targetId: string): Promise<void> {
    await inTransaction(this.ds, async (sql) => {
      await sql.affected(
        `UPDATE kek_versions SET wrapped = previous_wrapped, key_configuration_id = previous_key_configuration_id,
           provider_key_version = previous_provider_key_version, previous_wrapped = NULL,
           previous_key_configuration_id = NULL, previous_provider_key_version = NULL, updated_at = now()
         WHERE tenant_id = $1 AND workspace_id = $2 AND key_configuration_id = $3
           AND previous_wrapped IS NOT NULL AND previous_key_configuration_id IS NOT NULL AND previous_key_configuration_id <> $3`,
        [tenantId, workspaceId, targetId],
      );
    }).catch(() => undefined);
    await leaveWorkingState(this.ds, this.store, tenantId, workspaceId, 'rekeying').catch(() => undefined);
  }
}
