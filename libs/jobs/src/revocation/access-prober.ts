import { randomBytes } from 'node:crypto';
import type { KekVersionRepository, KeyConfigurationRow } from '@app/persistence';
import {
  formsOf,
  isRevocationCandidate,
  KeyConfig,
  KeySide,
  ProviderError,
  sideConfig,
  sidesOf,
  WrapContext,
} from '@app/provider-port';
import type { ProviderGate } from '../engine/provider-gate';
import type { KekWrapping } from '../operations/kek-wrapping';
import { OperationFailure } from '../operations/operation-errors';
import type { ProviderResolver } from '../ports';
import type { ProbeResult } from './confirmation-policy';
import type { ProbeWarning } from './probe-warning';

const STATE_CLASS = {
  disabled: 'key_disabled',
  pending_deletion: 'key_pending_deletion',
  destroyed: 'key_destroyed',
} as const;

export type AccessProbeResult =
  | { readonly kind: 'ok'; readonly warning?: ProbeWarning }
  | (Extract<ProbeResult, { kind: 'failed' }> & {
      /** With a replica key: the sides whose key answered a revocation class (what a shred may keep depends on it). */
      readonly revokedSides?: readonly KeySide[];
    });

/**
 * One access probe of a key configuration: describe (is the key there and enabled?) then unwrap of a bound
 * workspace's current wrapped KEK, checked against its KCV — exactly what the DEK path will need. With no bound
 * KEK to try, a wrap/unwrap round trip under a probe context. Every failure is classified by the binding; this
 * class only turns it into a ProbeResult and never decides anything.
 *
 * A describe refusal alone is never a revocation candidate: describe is not what serving needs, and a customer may
 * grant Keyhold only the wrap/unwrap permissions. When describe answers a revocation class, the unwrap still runs
 * and is the verdict: it works → `ok` with a `describe_denied` warning; it fails → its own class (a revocation
 * candidate, a transient failure, ...) exactly as when describe had worked. A describe that answers (a key it
 * reports disabled or pending deletion) is still believed: that is the key's state, not a refusal to tell it.
 */
export class AccessProber {
  constructor(
    private readonly keks: KekVersionRepository,
    private readonly providers: ProviderResolver,
    private readonly gate: ProviderGate,
    private readonly wrapping: KekWrapping,
  ) {}

  /**
   * With a replica key (provider-port replica.ts) each side is probed on its own, describe and the unwrap of its own
   * form, and the verdict is decided across both: a revocation-class answer from EITHER key is the probe's answer
   * (revoking the replica alone must not leave the primary serving, and the reverse), while a transient failure of
   * one side with the other proven is a success (a regional outage never starts a revocation). Only when no side is
   * proven and none refused is the probe a failure of the primary's class.
   */
  async probe(cfg: KeyConfigurationRow, preferWorkspaceId?: string, signal?: AbortSignal): Promise<AccessProbeResult> {
    const sides = sidesOf(cfg.config);
    if (sides.length === 1) return this.probeSide(cfg, cfg.config, 'primary', preferWorkspaceId, signal);
    const results = await Promise.all(
      sides.map((side) =>
        this.probeSide(cfg, sideConfig(cfg.config, side) ?? cfg.config, side, preferWorkspaceId, signal),
      ),
    );
    const revokedSides = sides.filter((_, i) => {
      const r = results[i];
      return r.kind === 'failed' && isRevocationCandidate(r.errorClass);
    });
    const first = results.find((r) => r.kind === 'failed' && isRevocationCandidate(r.errorClass));
    if (first && first.kind === 'failed') return { kind: 'failed', errorClass: first.errorClass, revokedSides };
    return results.find((r) => r.kind === 'ok') ?? results[0];
  }

  private async probeSide(
    cfg: KeyConfigurationRow,
    config: KeyConfig,
    side: KeySide,
    preferWorkspaceId?: string,
    signal?: AbortSignal,
  ): Promise<AccessProbeResult> {
    const provider = this.providers.get(cfg.provider);
    const scope = { provider: cfg.provider, keyConfigurationId: cfg.id };
    let refused: ProviderError | null = null;
    try {
      const d = await this.gate.call(scope, () => provider.describe(config, { tenantId: cfg.tenantId }), signal);
      if (d.state !== 'enabled') {
        return { kind: 'failed', errorClass: d.state === 'unknown' ? 'ambiguous' : STATE_CLASS[d.state] };
      }
    } catch (err) {
      // Transient and our-fault describe failures end the probe as before (nothing proven either way).
      if (!(err instanceof ProviderError) || !isRevocationCandidate(err.errorClass)) return failed(err);
      refused = err;
    }
    try {
      await this.proveUnwrap(cfg, config, side, preferWorkspaceId, signal);
    } catch (err) {
      return failed(err);
    }
    return refused
      ? {
          kind: 'ok',
          warning: { code: 'describe_denied', errorClass: refused.errorClass, providerCode: refused.providerCode },
        }
      : { kind: 'ok' };
  }

  /** Unwrap one stored KEK form (or a probe round trip) and zero the plaintext at once. */
  private async proveUnwrap(
    cfg: KeyConfigurationRow,
    config: KeyConfig,
    side: KeySide,
    preferWorkspaceId?: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const row = await this.keks.sampleActiveUnder(cfg.tenantId, cfg.id, preferWorkspaceId);
    const form = row
      ? formsOf(cfg.config, { ciphertext: row.wrapped, keyVersion: row.providerKeyVersion })[side]
      : undefined;
    if (row && form) {
      const kek = await this.wrapping.unwrapForm(row, cfg, config, form, signal);
      kek.fill(0);
    } else {
      await this.roundTrip(cfg, config, signal);
    }
  }

  private async roundTrip(cfg: KeyConfigurationRow, config: KeyConfig, signal?: AbortSignal): Promise<void> {
    const provider = this.providers.get(cfg.provider);
    const scope = { provider: cfg.provider, keyConfigurationId: cfg.id };
    const ctx: WrapContext = {
      tenantId: cfg.tenantId,
      workspaceId: 'probe',
      keyConfigurationId: cfg.id,
      kekVersion: 0,
      purpose: 'validation-probe',
    };
    const probe = randomBytes(32);
    try {
      const wrapped = await this.gate.call(scope, () => provider.wrap(config, probe, ctx), signal);
      const back = await this.gate.call(scope, () => provider.unwrap(config, wrapped, ctx), signal);
      const same = back.equals(probe);
      back.fill(0);
      if (!same)
        throw new ProviderError(
          'ambiguous',
          cfg.provider,
          'unwrap',
          'Mismatch',
          'probe round trip returned different bytes',
        );
    } finally {
      probe.fill(0);
    }
  }
}

function failed(err: unknown): Extract<ProbeResult, { kind: 'failed' }> {
  if (err instanceof ProviderError) return { kind: 'failed', errorClass: err.errorClass };
  // A KCV mismatch or any other local failure is not a revocation signal.
  if (err instanceof OperationFailure) return { kind: 'failed', errorClass: 'ambiguous' };
  throw err;
}
