import type { OperationRow, WorkspaceRepository } from '@app/persistence';
import { backoffDelay, BackoffPolicy } from '../engine/backoff';
import type { HandlerResult, OperationContext, OperationHandler } from '../engine/operation-handler';
import type { ConfirmationPolicy } from '../revocation/confirmation-policy';
import type { ProbeKeyConfiguration } from '../revocation/probe-key-configuration';
import type { BoundKeyConfigurations } from './key-configurations';
import { OperationFailure } from './operation-errors';

export interface RevocationCheckOptions {
  readonly policy: ConfirmationPolicy;
  /** Backoff between probes while the provider is only transiently failing. */
  readonly transientBackoff: BackoffPolicy;
  /** After this many transient-only probes the operation ends "inconclusive" (periodic probes carry on). */
  readonly maxTransientProbes: number;
}

/**
 * Revocation check ("I revoked access, check now", a failed unwrap on the DEK path, or an anomaly seen by the
 * periodic probe): probe the workspace's key configuration until the verdict is definite.
 *  - access works → done, outcome `active` (suspect workspaces restored);
 *  - revocation-class → workspaces `access_suspect`, the job waits and probes again, spacing the confirmation
 *    probes so that N of them span the configured window, then `shredded` (or restored if access came back);
 *  - transient / our-fault → workspaces marked degraded, probes again with exponential backoff + jitter; never
 *    shreds. The operation row stays `running` throughout, with the reason in `error`.
 */
export class RevocationCheckHandler implements OperationHandler {
  readonly kind = 'revocation-check';

  constructor(
    private readonly workspaces: WorkspaceRepository,
    private readonly configs: BoundKeyConfigurations,
    private readonly probe: ProbeKeyConfiguration,
    private readonly options: RevocationCheckOptions,
  ) {}

  /** Probes run during rotations too; the per-configuration access row lock serialises their effects. */
  lockKey(): null {
    return null;
  }

  async execute(ctx: OperationContext): Promise<HandlerResult> {
    const { tenantId, workspaceId } = ctx.op;
    const cfgId = await this.configurationId(ctx.op);
    const cfg = await this.configs.find(tenantId, cfgId);
    if (!cfg) throw new OperationFailure('KEY_CONFIGURATION_NOT_FOUND', 'the key configuration no longer exists');

    const probes = Number(ctx.op.params.probes ?? 0) + 1;
    const transientProbes = Number(ctx.op.params.transientProbes ?? 0);
    const { decision, changed, warning } = await this.probe.execute(
      cfg,
      { reason: 'revocation-check', workspaceId, operationId: ctx.op.id },
      ctx.signal,
    );
    const verdict = decision.verdict;
    await ctx.step(`probe:${verdict}`, {
      probes,
      keyConfigurationId: cfg.id,
      lastVerdict: verdict,
      lastReason: warning
        ? `probe succeeded: unwrap works; describe refused (${warning.errorClass}, ${warning.providerCode}): ${warning.code}, never a revocation`
        : decision.reason,
      transientProbes: verdict === 'degraded' ? transientProbes + 1 : transientProbes,
    });

    if (verdict === 'restore') {
      // A describe refusal with a working unwrap is `active` too; the warning tells the admin what to fix.
      return {
        kind: 'done',
        result: { outcome: 'active', probes, changed: changed.length, ...(warning ? { warning: warning.code } : {}) },
      };
    }
    if (verdict === 'shred') return { kind: 'done', result: { outcome: 'shredded', probes, reason: decision.reason } };
    if (verdict === 'suspect') {
      const { confirmations, windowMs } = this.options.policy;
      // Space the confirmations so that `confirmations` probes span the window (plus a little slack).
      const spacing = Math.ceil(windowMs / Math.max(1, confirmations - 1)) + 250;
      return {
        kind: 'wait',
        delayMs: spacing,
        reason: `access denied by the key service; confirming (${decision.reason})`,
      };
    }
    if (transientProbes + 1 >= this.options.maxTransientProbes) {
      return { kind: 'done', result: { outcome: 'inconclusive', probes, reason: decision.reason } };
    }
    return {
      kind: 'wait',
      delayMs: backoffDelay(transientProbes, this.options.transientBackoff),
      reason: `key service unreachable or failing (${decision.reason}); retrying with backoff`,
    };
  }

  private async configurationId(op: OperationRow): Promise<string> {
    const explicit = op.targetKeyConfigurationId ?? (op.params.keyConfigurationId as string | undefined);
    if (explicit) return explicit;
    const ws = await this.workspaces.findById(op.tenantId, op.workspaceId);
    if (!ws) throw new OperationFailure('WORKSPACE_NOT_FOUND', 'the workspace no longer exists');
    if (!ws.keyConfigurationId)
      throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace has no key binding to check');
    return ws.keyConfigurationId;
  }
}
