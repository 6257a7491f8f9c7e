import type { KeyConfig, WrapContext, WrappedKek } from '@app/provider-port';
import type { ProviderGate } from '../engine/provider-gate';
import type { KeyCrypto, ProviderResolver } from '../ports';
import type { KekRow, KeyConfigurationRow } from '../store/workspace-key-store';
import { OperationFailure } from './operation-errors';

/** How long a described customer-key version is reused across workspaces of one configuration. */
const VERSION_TTL_MS = 15_000;

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

  /**
   * The customer key's current version, shared by every workspace bound to the configuration for a short window
   * (VERSION_TTL_MS) with concurrent callers sharing one describe: a CMK rewrap of N workspaces then costs one
   * describe, not N (the customer's KMS quota is shared with their own workloads). A version that is a few seconds
   * stale can only cause one extra rewrap later, never a missed one: a later check sees the newer version.
   */
  async currentVersion(cfg: KeyConfigurationRow, tenantId: string, signal?: AbortSignal): Promise<string | null> {
    const key = `${tenantId}/${cfg.id}`;
    const now = Date.now();
    const hit = this.versions.get(key);
    if (hit && hit.until > now) return hit.value;
    const pending = hit?.pending;
    if (pending) return pending;
    const provider = this.providers.get(cfg.provider);
    const load = this.gate
      .call({ provider: cfg.provider, keyConfigurationId: cfg.id }, () => provider.describe(cfg.config, { tenantId }), signal)
      .then((d) => {
        this.versions.set(key, { value: d.currentVersion, until: Date.now() + VERSION_TTL_MS });
        if (this.versions.size > 10_000) this.versions.delete(this.versions.keys().next().value as string);
        return d.currentVersion;
      })
      .catch((err: unknown) => {
        this.versions.delete(key);
        throw err;
      });
    this.versions.set(key, { value: null, until: 0, pending: load });
    return load;
  }

  private readonly versions = new Map<string, { value: string | null; until: number; pending?: Promise<string | null> }>();
}
