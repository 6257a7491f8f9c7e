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
   *
   * `notBefore` (epoch ms, this process's clock): only reuse a describe that was *started* at or after that
   * instant. A CMK rewrap passes the moment it was requested, so a rotation the customer made before asking is
   * always seen (otherwise a describe cached a few seconds earlier, by the rotation check or another rewrap, would
   * make the requested rewrap succeed as a no-op on the old version); the workspaces of one rewrap wave, all
   * requested before the first of them describes, still share that one describe.
   */
  async currentVersion(cfg: KeyConfigurationRow, tenantId: string, signal?: AbortSignal, notBefore?: number): Promise<string | null> {
    const key = `${tenantId}/${cfg.id}`;
    const now = Date.now();
    const hit = this.versions.get(key);
    const fresh = hit !== undefined && (notBefore === undefined || hit.startedAt >= notBefore);
    if (hit && fresh && hit.until > now) return hit.value;
    if (hit?.pending && fresh) return hit.pending;
    const provider = this.providers.get(cfg.provider);
    const entry: { value: string | null; until: number; startedAt: number; pending?: Promise<string | null> } = { value: null, until: 0, startedAt: now };
    const load = this.gate
      .call({ provider: cfg.provider, keyConfigurationId: cfg.id }, () => provider.describe(cfg.config, { tenantId }), signal)
      .then((d) => {
        // A newer describe may have been started meanwhile: never replace its entry with this older answer.
        if (this.versions.get(key) === entry) {
          this.versions.set(key, { value: d.currentVersion, until: Date.now() + VERSION_TTL_MS, startedAt: entry.startedAt });
          if (this.versions.size > 10_000) this.versions.delete(this.versions.keys().next().value as string);
        }
        return d.currentVersion;
      })
      .catch((err: unknown) => {
        if (this.versions.get(key) === entry) this.versions.delete(key);
        throw err;
      });
    entry.pending = load;
    this.versions.set(key, entry);
    return load;
  }

  private readonly versions = new Map<string, { value: string | null; until: number; startedAt: number; pending?: Promise<string | null> }>();
}
