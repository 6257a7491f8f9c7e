import type { Repositories } from '@app/persistence';
import { ProviderError } from '@app/provider-port';
import { OperationKind } from '../contracts';
import type { KekWrapping } from '../operations/kek-wrapping';
import type { BoundKeyConfigurations } from '../operations/key-configurations';
import type { OperationTrigger } from './operation-trigger';

export interface RotationLimits {
  /** Rotate a KEK once it has done this many GCM wraps (far below the 2^32 random-nonce limit). */
  readonly kekMaxWraps: number;
  /** Rotate a KEK older than this. */
  readonly kekMaxAgeSeconds: number;
  /** Rewrap a KEK whose wrapped form is older than this under the CMK (0 = only on a new CMK version). */
  readonly cmkRewrapMaxAgeSeconds: number;
}

/**
 * Scheduled check that starts rotations by itself:
 *  - KEK rotation when an active KEK crossed the wrap-count or age limit;
 *  - CMK rewrap when describe reports a current key version different from the one a live KEK row was wrapped
 *    under (customer rotated their key), or when the wrapped form is older than the configured maximum.
 * One describe per key configuration, not per workspace. Triggers are de-duplicated by the operations table.
 */
export class RotationCheck {
  constructor(
    private readonly repos: Repositories,
    private readonly configs: BoundKeyConfigurations,
    private readonly wrapping: KekWrapping,
    private readonly trigger: OperationTrigger,
    private readonly limits: RotationLimits,
  ) {}

  async execute(signal?: AbortSignal): Promise<{ kekRotations: number; cmkRewraps: number }> {
    let kekRotations = 0;
    let cmkRewraps = 0;
    const due = await this.repos.keks.dueForRotation(this.limits.kekMaxWraps, this.limits.kekMaxAgeSeconds);
    for (const d of due) {
      const { created } = await this.trigger.trigger({
        tenantId: d.tenantId,
        workspaceId: d.workspaceId,
        kind: OperationKind.KekRotation,
        reason: `KEK ${d.why} limit reached`,
      });
      if (created) kekRotations++;
    }

    const configs = await this.repos.keyConfigurations.boundInStates(['active']);
    for (const c of configs) {
      if (signal?.aborted) break;
      const cfg = await this.configs.find(c.tenantId, c.keyConfigurationId);
      if (!cfg) continue;
      let current: string | null;
      try {
        current = await this.wrapping.currentVersion(cfg, c.tenantId, signal);
      } catch (err) {
        // A probe's business, not ours: revocation and outages are handled by the access probes.
        if (err instanceof ProviderError) continue;
        throw err;
      }
      const stale = await this.repos.keks.dueForCmkRewrap(
        c.tenantId,
        cfg.id,
        current,
        this.limits.cmkRewrapMaxAgeSeconds,
      );
      for (const s of stale) {
        const { created } = await this.trigger.trigger({
          tenantId: c.tenantId,
          workspaceId: s.workspaceId,
          kind: OperationKind.CmkRewrap,
          reason: s.why,
          // With an age limit, the rewrap also renews forms older than it that are already on the current key
          // version (otherwise an age-triggered rewrap would find nothing to do).
          params:
            this.limits.cmkRewrapMaxAgeSeconds > 0
              ? { rewrapWrappedBefore: new Date(s.cutoff).toISOString() }
              : undefined,
        });
        if (created) cmkRewraps++;
      }
    }
    return { kekRotations, cmkRewraps };
  }
}
