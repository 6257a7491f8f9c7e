import type { KekVersionRow, KeyConfigurationRow } from '@app/persistence';
import {
  kekWrapContext,
  RewrapNotPermittedError,
  type KeyConfig,
  type WrapContext,
  type WrappedKek,
} from '@app/provider-port';
import { LRUCache } from 'lru-cache';
import type { ProviderGate } from '../engine/provider-gate';
import type { KeyCrypto, ProviderResolver } from '../ports';
import { OperationFailure } from './operation-errors';

/** How long a described customer-key version is reused across workspaces of one configuration. */
const VERSION_TTL_MS = 15_000;
/**
 * How long a configuration whose grant refused an in-KMS rewrap goes straight to unwrap + wrap: a wave of N
 * workspaces pays the refusal once, and a customer who adds the permission is picked up within this window.
 */
const REWRAP_REFUSED_TTL_MS = 10 * 60_000;

/** Per configuration: does the customer's grant cover the in-KMS rewrap? `probing`: one caller is finding out. */
type InPlaceRewrap =
  { kind: 'permitted' } | { kind: 'refused'; until: number } | { kind: 'probing'; done: Promise<void> };

/** The wrap context of `row`'s KEK under the configuration `keyConfigurationId` (the one definition, provider-port). */
function contextOf(
  row: Pick<KekVersionRow, 'tenantId' | 'workspaceId' | 'version'>,
  keyConfigurationId: string,
): WrapContext {
  return kekWrapContext({
    tenantId: row.tenantId,
    workspaceId: row.workspaceId,
    keyConfigurationId,
    kekVersion: row.version,
  });
}

/** Per-configuration answers kept at most (configurations, not workspaces: a handful per tenant). */
const CONFIGURATIONS_KEPT = 10_000;

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
  unwrap(row: KekVersionRow, cfg: KeyConfigurationRow, signal?: AbortSignal): Promise<Buffer> {
    return this.unwrapForm(
      row,
      cfg,
      cfg.config,
      { ciphertext: row.wrapped, keyVersion: row.providerKeyVersion },
      signal,
    );
  }

  /**
   * One form of a stored version under one key: the probe unwraps the primary's and the replica's forms each under
   * its own key (`config` is that side's configuration, provider-port replica.ts), so a revocation of either shows.
   */
  async unwrapForm(
    row: KekVersionRow,
    cfg: KeyConfigurationRow,
    config: KeyConfig,
    wrapped: WrappedKek,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const provider = this.providers.get(cfg.provider);
    const kek = await this.gate.call(
      { provider: cfg.provider, keyConfigurationId: cfg.id },
      () => provider.unwrap(config, wrapped, contextOf(row, cfg.id)),
      signal,
    );
    if (!this.crypto.kcvMatches(kek, row.kcv)) {
      kek.fill(0);
      // Not a revocation signal: the provider answered, with the wrong bytes. Stop and let a human look.
      throw new OperationFailure(
        'KEK_CHECK_FAILED',
        `KEK version ${row.version} unwrapped to a key that does not match its key-check value`,
      );
    }
    return kek;
  }

  /** Wrap `kek` under the configuration's current key version and prove it unwraps back to the same KEK. */
  async wrapVerified(
    kek: Buffer,
    kcv: Buffer,
    target: Pick<KekVersionRow, 'tenantId' | 'workspaceId' | 'version'>,
    cfg: KeyConfigurationRow,
    signal?: AbortSignal,
  ): Promise<WrappedKek> {
    const provider = this.providers.get(cfg.provider);
    const scope = { provider: cfg.provider, keyConfigurationId: cfg.id };
    const ctx = contextOf(target, cfg.id);
    const wrapped = await this.gate.call(scope, () => provider.wrap(cfg.config, kek, ctx), signal);
    await this.verify(wrapped, kcv, cfg, ctx, signal);
    return wrapped;
  }

  /**
   * CMK rewrap of a stored KEK version that is already under `cfg`, inside the KMS (the KEK never leaves it), then
   * verified like wrapVerified: the new form is unwrapped and must match the stored key-check value (which also
   * proves the old form opened to the right KEK). Two provider calls instead of unwrap + wrap + verify.
   * `keyVersion` is the current key version the caller learned before (describe); it is recorded as the new form's.
   *
   * Returns null when the caller must unwrap + wrapVerified instead: the binding has no in-KMS rewrap, or the
   * customer's grant does not cover it (RewrapNotPermittedError, e.g. an AWS customer who onboarded before
   * kms:ReEncryptFrom/To were asked for). That refusal is never a revocation signal; it is remembered per
   * configuration for REWRAP_REFUSED_TTL_MS, and while the answer is unknown one caller asks and concurrent callers
   * of the same configuration wait for it, so a wave pays it once. A real revocation shows on the fallback's unwrap.
   */
  async rewrapVerified(
    row: KekVersionRow,
    cfg: KeyConfigurationRow,
    keyVersion: string | null,
    signal?: AbortSignal,
  ): Promise<WrappedKek | null> {
    const provider = this.providers.get(cfg.provider);
    if (!provider.rewrap || row.keyConfigurationId !== cfg.id) return null;
    const key = `${row.tenantId}/${cfg.id}`;
    for (;;) {
      const known = this.inPlace.get(key);
      if (known?.kind === 'refused' && known.until > Date.now()) return null;
      if (known?.kind !== 'probing') break;
      await known.done;
    }
    let settle: (() => void) | undefined;
    let probe: InPlaceRewrap | undefined;
    if (this.inPlace.get(key)?.kind !== 'permitted') {
      probe = { kind: 'probing', done: new Promise<void>((resolve) => (settle = resolve)) };
      this.inPlace.set(key, probe);
    }
    const scope = { provider: cfg.provider, keyConfigurationId: cfg.id };
    const ctx = contextOf(row, cfg.id);
    const stored: WrappedKek = { ciphertext: row.wrapped, keyVersion: row.providerKeyVersion };
    const rewrap = provider.rewrap.bind(provider);
    try {
      let wrapped: WrappedKek;
      try {
        wrapped = await this.gate.call(scope, () => rewrap(cfg.config, stored, ctx, { keyVersion }), signal);
      } catch (err) {
        if (err instanceof RewrapNotPermittedError) {
          this.inPlace.set(key, { kind: 'refused', until: Date.now() + REWRAP_REFUSED_TTL_MS });
          return null;
        }
        // Undecided (throttled, key disabled, ...): the next caller asks again.
        if (probe && this.inPlace.get(key) === probe) this.inPlace.delete(key);
        throw err;
      }
      if (probe && this.inPlace.get(key) === probe) this.inPlace.set(key, { kind: 'permitted' });
      await this.verify(wrapped, row.kcv, cfg, ctx, signal);
      return wrapped;
    } finally {
      settle?.();
    }
  }

  /** Never store a form we have not unwrapped: `wrapped` must unwrap under `ctx` to the KEK with check value `kcv`. */
  private async verify(
    wrapped: WrappedKek,
    kcv: Buffer,
    cfg: KeyConfigurationRow,
    ctx: WrapContext,
    signal?: AbortSignal,
  ): Promise<void> {
    const provider = this.providers.get(cfg.provider);
    const back = await this.gate.call(
      { provider: cfg.provider, keyConfigurationId: cfg.id },
      () => provider.unwrap(cfg.config, wrapped, ctx),
      signal,
    );
    try {
      if (!this.crypto.kcvMatches(back, kcv)) {
        throw new OperationFailure(
          'KEK_CHECK_FAILED',
          'the newly wrapped KEK did not unwrap to the same key; nothing was changed',
        );
      }
    } finally {
      back.fill(0);
    }
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
  async currentVersion(
    cfg: KeyConfigurationRow,
    tenantId: string,
    signal?: AbortSignal,
    notBefore?: number,
  ): Promise<string | null> {
    const key = `${tenantId}/${cfg.id}`;
    const now = Date.now();
    const hit = this.versions.get(key);
    const fresh = hit !== undefined && (notBefore === undefined || hit.startedAt >= notBefore);
    if (hit && fresh && hit.until > now) return hit.value;
    if (hit?.pending && fresh) return hit.pending;
    const provider = this.providers.get(cfg.provider);
    const entry: { value: string | null; until: number; startedAt: number; pending?: Promise<string | null> } = {
      value: null,
      until: 0,
      startedAt: now,
    };
    const load = this.gate
      .call(
        { provider: cfg.provider, keyConfigurationId: cfg.id },
        () => provider.describe(cfg.config, { tenantId }),
        signal,
      )
      .then((d) => {
        // A newer describe may have been started meanwhile: never replace its entry with this older answer.
        if (this.versions.get(key) === entry) {
          this.versions.set(key, {
            value: d.currentVersion,
            until: Date.now() + VERSION_TTL_MS,
            startedAt: entry.startedAt,
          });
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

  private readonly versions = new LRUCache<
    string,
    { value: string | null; until: number; startedAt: number; pending?: Promise<string | null> }
  >({
    max: CONFIGURATIONS_KEPT,
  });
  private readonly inPlace = new LRUCache<string, InPlaceRewrap>({ max: CONFIGURATIONS_KEPT });
}
