import { randomBytes } from 'node:crypto';
import type { KekVersionRepository, KeyConfigurationRow } from '@app/persistence';
import { ProviderError, WrapContext } from '@app/provider-port';
import type { ProviderGate } from '../engine/provider-gate';
import type { KekWrapping } from '../operations/kek-wrapping';
import { OperationFailure } from '../operations/operation-errors';
import type { ProviderResolver } from '../ports';
import type { ProbeResult } from './confirmation-policy';

const STATE_CLASS = {
  disabled: 'key_disabled',
  pending_deletion: 'key_pending_deletion',
  destroyed: 'key_destroyed',
} as const;

/**
 * One access probe of a key configuration: describe (is the key there and enabled?) then unwrap of a bound
 * workspace's current wrapped KEK, checked against its KCV — exactly what the DEK path will need. With no bound
 * KEK to try, a wrap/unwrap round trip under a probe context. Every failure is classified by the binding; this
 * class only turns it into a ProbeResult and never decides anything.
 */
export class AccessProber {
  constructor(
    private readonly keks: KekVersionRepository,
    private readonly providers: ProviderResolver,
    private readonly gate: ProviderGate,
    private readonly wrapping: KekWrapping,
  ) {}

  async probe(cfg: KeyConfigurationRow, preferWorkspaceId?: string, signal?: AbortSignal): Promise<ProbeResult> {
    const provider = this.providers.get(cfg.provider);
    const scope = { provider: cfg.provider, keyConfigurationId: cfg.id };
    try {
      const d = await this.gate.call(scope, () => provider.describe(cfg.config, { tenantId: cfg.tenantId }), signal);
      if (d.state !== 'enabled') {
        return { kind: 'failed', errorClass: d.state === 'unknown' ? 'ambiguous' : STATE_CLASS[d.state] };
      }
      const row = await this.keks.sampleActiveUnder(cfg.tenantId, cfg.id, preferWorkspaceId);
      if (row) {
        const kek = await this.wrapping.unwrap(row, cfg, signal);
        kek.fill(0);
      } else {
        await this.roundTrip(cfg, signal);
      }
      return { kind: 'ok' };
    } catch (err) {
      if (err instanceof ProviderError) return { kind: 'failed', errorClass: err.errorClass };
      // A KCV mismatch or any other local failure is not a revocation signal.
      if (err instanceof OperationFailure) return { kind: 'failed', errorClass: 'ambiguous' };
      throw err;
    }
  }

  private async roundTrip(cfg: KeyConfigurationRow, signal?: AbortSignal): Promise<void> {
    const provider = this.providers.get(cfg.provider);
    const scope = { provider: cfg.provider, keyConfigurationId: cfg.id };
    const ctx: WrapContext = { tenantId: cfg.tenantId, workspaceId: 'probe', keyConfigurationId: cfg.id, kekVersion: 0, purpose: 'validation-probe' };
    const probe = randomBytes(32);
    try {
      const wrapped = await this.gate.call(scope, () => provider.wrap(cfg.config, probe, ctx), signal);
      const back = await this.gate.call(scope, () => provider.unwrap(cfg.config, wrapped, ctx), signal);
      const same = back.equals(probe);
      back.fill(0);
      if (!same) throw new ProviderError('ambiguous', cfg.provider, 'unwrap', 'Mismatch', 'probe round trip returned different bytes');
    } finally {
      probe.fill(0);
    }
  }
}
