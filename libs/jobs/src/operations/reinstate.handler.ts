import type { Repositories } from '@app/persistence';
import {
  workspaceLock,
  type HandlerResult,
  type OperationContext,
  type OperationHandler,
} from '../engine/operation-handler';
import type { AuditSink, KekCacheControl } from '../ports';
import type { KekWrapping } from './kek-wrapping';
import type { BoundKeyConfigurations } from './key-configurations';
import { OperationFailure } from './operation-errors';

/**
 * Reinstate: after the customer restored access (re-enabled the key, cancelled deletion, re-granted the role),
 * prove that every live KEK version of the workspace unwraps again and matches its key-check value, then return
 * the workspace to `active`. The only way out of `shredded` (docs/ARCHITECTURE.md, state machine), always audited. If any
 * unwrap fails, the workspace stays where it is and the operation fails with the reason.
 */
export class ReinstateHandler implements OperationHandler {
  readonly kind = 'reinstate';

  constructor(
    private readonly repos: Repositories,
    private readonly configs: BoundKeyConfigurations,
    private readonly wrapping: KekWrapping,
    private readonly cache: KekCacheControl,
    private readonly audit: AuditSink,
  ) {}

  readonly lockKey = workspaceLock;

  async execute(ctx: OperationContext): Promise<HandlerResult> {
    const { tenantId, workspaceId } = ctx.op;
    const ws = await this.repos.workspaces.findById(tenantId, workspaceId);
    if (!ws) throw new OperationFailure('WORKSPACE_NOT_FOUND', 'the workspace no longer exists');
    if (ws.keyState === 'active') return { kind: 'done', result: { outcome: 'active', alreadyActive: true } };
    if (ws.keyState !== 'shredded' && ws.keyState !== 'access_suspect') {
      throw new OperationFailure(
        'WORKSPACE_STATE_CONFLICT',
        `the workspace is ${ws.keyState}; only a shredded or suspect workspace can be reinstated`,
      );
    }
    if (!ws.keyConfigurationId)
      throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace has no key binding');
    const cfgId = ws.keyConfigurationId;

    const keks = await this.repos.keks.findLive(tenantId, workspaceId);
    if (keks.length === 0) throw new OperationFailure('UNWRAP_FAILED', 'the workspace has no KEK to prove');
    for (const row of keks) {
      const cfg = await this.configs.find(tenantId, row.keyConfigurationId);
      if (!cfg)
        throw new OperationFailure(
          'KEY_CONFIGURATION_NOT_FOUND',
          `key configuration of KEK version ${row.version} no longer exists`,
        );
      try {
        const kek = await this.wrapping.unwrap(row, cfg, ctx.signal);
        kek.fill(0);
      } catch (err) {
        const e = err as { name?: string; transient?: boolean; errorClass?: string };
        if (e?.name === 'ProviderError' && !e.transient) {
          throw new OperationFailure(
            'KEY_ACCESS_DENIED',
            `Keyhold still cannot unwrap KEK version ${row.version} (${e.errorClass}); restore access to the key, then reinstate again`,
          );
        }
        throw err;
      }
    }
    await ctx.step('proven', { kekVersions: keks.map((k) => k.version) });

    const moved = await this.repos.ds.transaction(async (m) => {
      const ok = await this.repos.workspaces.transition(m, tenantId, workspaceId, {
        from: [ws.keyState],
        to: 'active',
        degraded: false,
        expectedVersion: ws.stateVersion,
      });
      if (!ok) return false;
      await this.repos.keyConfigurationAccess.reset(m, tenantId, cfgId);
      await this.audit.append(
        tenantId,
        {
          actor: 'system:worker',
          action: 'workspace.reinstated',
          target: `workspace:${workspaceId}`,
          outcome: 'success',
          details: {
            operationId: ctx.op.id,
            from: ws.keyState,
            kekVersions: keks.map((k) => k.version),
            keyConfigurationId: cfgId,
          },
        },
        m,
      );
      return true;
    });
    if (!moved)
      throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace changed during the reinstate; try again');
    await this.cache.invalidateWorkspace(tenantId, workspaceId);
    return { kind: 'done', result: { outcome: 'active', from: ws.keyState } };
  }
}
