import type { KeyConfig, WrapContext, WrappedKek } from '@app/provider-port';
import type { ProviderGate } from '../engine/provider-gate';
import type { KeyCrypto, ProviderResolver } from '../ports';
import type { KekRow, KeyConfigurationRow } from '../store/workspace-key-store';
import { OperationFailure } from './operation-errors';

export function kekContext(row: Pick<KekRow, 'tenantId' | 'workspaceId' | 'version'>, keyConfigurationId: string): WrapContext {
  return {
    tenantId: row.tenantId,
    workspaceId: row.workspaceId,
    keyConfigurationId,
    kekVersion: row.version,
    purpose: 'workspace-kek',
  };
}

/**
 * Unwrap and wrap workspace KEKs under customer keys, always verified: an unwrapped KEK must match its stored
 * key-check value, and a freshly wrapped KEK is unwrapped again and checked before anyone may store it (a
 * wrapped form that cannot be unwrapped would be a silent shred). Every call goes through the provider gate
 * (rate limits, in-place retry of transient failures).
 */
export class KekWrapping {
  constructor(
    private readonly providers: ProviderResolver,
    private readonly gate: ProviderGate,
    private readonly crypto: KeyCrypto,
  ) {}

  /** Plaintext KEK of a stored version; caller zeroes it. */
  async unwrap(row: KekRow, cfg: KeyConfigurationRow, signal?: AbortSignal): Promise<Buffer> {
    const provider = this.providers.get(cfg.provider);
    const wrapped: WrappedKek = { ciphertext: row.wrapped, keyVersion: row.providerKeyVersion };
    const kek = await this.gate.call(
      { provider: cfg.provider, keyConfigurationId: cfg.id },
      () => provider.unwrap(cfg.config, wrapped, kekContext(row, cfg.id)),
      signal,
    );
    if (!this.crypto.kcvMatches(kek, row.kcv)) {
      kek.fill(0);
      // Not a revocation signal: the provider answered, with the wrong bytes. Stop and let a human look.
      throw new OperationFailure('KEK_CHECK_FAILED', `KEK version ${row.version} unwrapped to a key that does not match its key-check value`);
    }
    return kek;
  }

  /** Wrap `kek` under the configuration's current key version and prove it unwraps back to the same KEK. */
  async wrapVerified(
    kek: Buffer,
    kcv: Buffer,
    target: Pick<KekRow, 'tenantId' | 'workspaceId' | 'version'>,
    cfg: KeyConfigurationRow,
    signal?: AbortSignal,
  ): Promise<WrappedKek> {
    const provider = this.providers.get(cfg.provider);
    const scope = { provider: cfg.provider, keyConfigurationId: cfg.id };
    const ctx = kekContext(target, cfg.id);
    const wrapped = await this.gate.call(scope, () => provider.wrap(cfg.config as KeyConfig, kek, ctx), signal);
    const back = await this.gate.call(scope, () => provider.unwrap(cfg.config, wrapped, ctx), signal);
    try {
      if (!this.crypto.kcvMatches(back, kcv)) {
        throw new OperationFailure('KEK_CHECK_FAILED', 'the newly wrapped KEK did not unwrap to the same key; nothing was changed');
      }
    } finally {
      back.fill(0);
    }
    return wrapped;
  }

  async currentVersion(cfg: KeyConfigurationRow, tenantId: string, signal?: AbortSignal): Promise<string | null> {
    const provider = this.providers.get(cfg.provider);
    const d = await this.gate.call(
      { provider: cfg.provider, keyConfigurationId: cfg.id },
      () => provider.describe(cfg.config, { tenantId }),
      signal,
    );
    return d.currentVersion;
  }
}
