import type { Repositories } from '@app/persistence';
import {
  workspaceLock,
  type OperationContext,
  type OperationHandler,
  type HandlerResult,
} from '../engine/operation-handler';
import type { AuditSink } from '../ports';
import type { KekWrapping } from './kek-wrapping';
import type { BoundKeyConfigurations } from './key-configurations';
import { OperationFailure } from './operation-errors';
import type { RewrapUnderKey } from './rewrap-under-key';
import { enterWorkingState, failIfDestroyed, leaveWorkingState } from './workspace-guard';

/**
 * CMK rewrap: after the customer rotates their key (AWS rotation, new Azure key version, new GCP primary),
 * re-wrap the workspace's KEK versions under the key's current version. KEK bytes and DEKs do not change.
 * Steps: rewrapping (state active → rewrapping) → rewrapped (every live KEK row on the current version,
 * each verified before its compare-and-set) → done (rewrapping → active).
 */
export class CmkRewrapHandler implements OperationHandler {
  readonly kind = 'cmk-rewrap';

  constructor(
    private readonly repos: Repositories,
    private readonly configs: BoundKeyConfigurations,
    private readonly wrapping: KekWrapping,
    private readonly rewrap: RewrapUnderKey,
    private readonly audit: AuditSink,
  ) {}

  readonly lockKey = workspaceLock;

  async execute(ctx: OperationContext): Promise<HandlerResult> {
    const { tenantId, workspaceId } = ctx.op;
    const ws = await enterWorkingState(this.repos.ds, this.repos.workspaces, tenantId, workspaceId, 'rewrapping');
    await ctx.step('rewrapping');
    try {
      if (!ws.keyConfigurationId)
        throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace has no key binding');
      const cfg = await this.configs.find(tenantId, ws.keyConfigurationId);
      if (!cfg)
        throw new OperationFailure('KEY_CONFIGURATION_NOT_FOUND', 'the bound key configuration no longer exists');
      const keyVersion = await this.wrapping.currentVersion(
        cfg,
        tenantId,
        ctx.signal,
        await this.requestedAt(tenantId, ctx.op.id),
      );
      const wrappedBefore = cutoff(ctx.op.params.rewrapWrappedBefore);
      const { rewrapped } = await this.rewrap.execute({
        tenantId,
        workspaceId,
        target: cfg,
        targetKeyVersion: keyVersion,
        wrappedBefore,
        signal: ctx.signal,
      });
      await ctx.step('rewrapped', { keyVersion, rewrappedVersions: rewrapped });
      // The forms under the CMK's older versions are deleted as the operation commits: a CMK rewrap has no rollback
      // (the KEK bytes never change and each new form was unwrapped and KCV-checked before it was stored), and a
      // kept form would let an old key version the customer disabled or destroyed on purpose open the KEK again
      // the day it is re-enabled (or, for a cloud that keeps old versions usable, at once).
      // Dropped even if a probe moved the workspace meanwhile (the transition then does nothing): every row is on
      // the new version already, so the old forms have no purpose left whatever the state.
      const left = await this.repos.ds.transaction(async (m) => {
        const moved =
          (await this.repos.workspaces.transition(m, tenantId, workspaceId, { from: ['rewrapping'], to: 'active' })) !==
          null;
        await this.repos.keks.dropPreviousForms(m, tenantId, workspaceId);
        // the state change and its record commit together
        if (moved)
          await this.audit.append(
            tenantId,
            {
              actor: 'system:worker',
              action: 'workspace.cmk_rewrapped',
              target: `workspace:${workspaceId}`,
              outcome: 'success',
              details: { operationId: ctx.op.id, keyConfigurationId: cfg.id, keyVersion, kekVersions: rewrapped },
            },
            m,
          );
        return moved;
      });
      if (!left) await failIfDestroyed(this.repos.workspaces, tenantId, workspaceId);
      return { kind: 'done', result: { keyVersion, kekVersions: rewrapped } };
    } catch (err) {
      await this.undoOnPermanent(err, tenantId, workspaceId);
      throw err;
    }
  }

  /**
   * When this operation was requested, on this process's clock (its age comes from Postgres alone, so clock skew
   * between the API, the database and the worker does not matter). A describe started before this instant may
   * predate the customer's rotation.
   */
  private async requestedAt(tenantId: string, operationId: string): Promise<number> {
    return Date.now() - (await this.repos.operations.ageMs(tenantId, operationId));
  }

  private async undoOnPermanent(err: unknown, tenantId: string, workspaceId: string): Promise<void> {
    if (!isPermanent(err)) return;
    // Rows already rewrapped stay on the new version (each was verified before it was stored): their old forms go too.
    await this.repos.keks.dropPreviousForms(this.repos.ds, tenantId, workspaceId).catch(() => undefined);
    await leaveWorkingState(this.repos.ds, this.repos.workspaces, tenantId, workspaceId, 'rewrapping').catch(
      () => undefined,
    );
  }
}

/** The age cutoff the rotation check put on the operation (ISO timestamp), if any. */
function cutoff(raw: unknown): Date | undefined {
  if (typeof raw !== 'string') return undefined;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Errors after which the operation ends: the workspace must not be left in a working state. */
export function isPermanent(err: unknown): boolean {
  if (err instanceof OperationFailure) return true;
  const e = err as { name?: string; transient?: boolean };
  return e?.name === 'ProviderError' && e.transient === false;
}
