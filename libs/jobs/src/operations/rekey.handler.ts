import type { Repositories } from '@app/persistence';
import {
  workspaceLock,
  type HandlerResult,
  type OperationContext,
  type OperationHandler,
} from '../engine/operation-handler';
import type { AuditSink, KekCacheControl } from '../ports';
import { isPermanent } from './cmk-rewrap.handler';
import type { BoundKeyConfigurations } from './key-configurations';
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
    private readonly repos: Repositories,
    private readonly configs: BoundKeyConfigurations,
    private readonly rewrap: RewrapUnderKey,
    private readonly cache: KekCacheControl,
    private readonly audit: AuditSink,
  ) {}

  readonly lockKey = workspaceLock;

  async execute(ctx: OperationContext): Promise<HandlerResult> {
    const { tenantId, workspaceId } = ctx.op;
    const targetId = ctx.op.targetKeyConfigurationId ?? (ctx.op.params.targetKeyConfigurationId as string | undefined);
    if (!targetId)
      throw new OperationFailure(
        'KEY_CONFIGURATION_NOT_FOUND',
        'the re-key operation names no target key configuration',
      );
    const target = await this.configs.find(tenantId, targetId);
    if (!target)
      throw new OperationFailure('KEY_CONFIGURATION_NOT_FOUND', 'the target key configuration no longer exists');
    if (target.status !== 'valid') {
      throw new OperationFailure(
        'KEY_CONFIGURATION_INVALID',
        'the target key configuration did not pass validation; validate it again first',
      );
    }

    const ws = await enterWorkingState(this.repos.ds, this.repos.workspaces, tenantId, workspaceId, 'rekeying');
    const fromId = (ctx.op.params.fromKeyConfigurationId as string | undefined) ?? ws.keyConfigurationId;
    await ctx.step('rekeying', { fromKeyConfigurationId: fromId, targetKeyConfigurationId: targetId });
    try {
      const { rewrapped } = await this.rewrap.execute({
        tenantId,
        workspaceId,
        target,
        targetKeyVersion: 'any',
        signal: ctx.signal,
      });
      await ctx.step('rewrapped', { rewrappedVersions: rewrapped });

      const switched = await this.repos.ds.transaction(async (m) => {
        const live = await this.repos.keks.findLive(tenantId, workspaceId, m);
        if (live.some((k) => k.keyConfigurationId !== targetId)) return false;
        if (
          !(await this.repos.workspaces.transition(m, tenantId, workspaceId, {
            from: ['rekeying'],
            to: 'active',
            keyConfigurationId: targetId,
          }))
        )
          return false;
        await this.audit.append(
          tenantId,
          {
            actor: 'system:worker',
            action: 'workspace.rekeyed',
            target: `workspace:${workspaceId}`,
            outcome: 'success',
            details: {
              operationId: ctx.op.id,
              from: fromId,
              to: targetId,
              provider: target.provider,
              kekVersions: rewrapped,
            },
          },
          m,
        );
        // The rollback was the only reader of the forms under the old configuration: they go in the transaction
        // that commits the new binding, so no instant exists after the switch in which the old key still opens them.
        await this.repos.keks.dropPreviousForms(m, tenantId, workspaceId);
        return true;
      });
      if (!switched)
        throw new OperationFailure(
          'WORKSPACE_STATE_CONFLICT',
          'the workspace changed during the re-key; nothing was switched',
        );
      await this.cache.invalidateWorkspace(tenantId, workspaceId);
      return { kind: 'done', result: { keyConfigurationId: targetId, kekVersions: rewrapped } };
    } catch (err) {
      if (isPermanent(err)) await this.rollBack(tenantId, workspaceId, targetId);
      throw err;
    }
  }

  /** Put rows already moved to the target back on their previous wrapping, then leave rekeying. */
  private async rollBack(tenantId: string, workspaceId: string, targetId: string): Promise<void> {
    await this.repos.keks
      .restorePreviousForms(this.repos.ds, tenantId, workspaceId, { movedTo: targetId })
      .catch(() => undefined);
    await leaveWorkingState(this.repos.ds, this.repos.workspaces, tenantId, workspaceId, 'rekeying').catch(
      () => undefined,
    );
  }
}
