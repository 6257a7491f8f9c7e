import { kcvMatches } from '@app/crypto';
import type { KekCache } from '@app/kek-cache';
import { LRUCache } from 'lru-cache';
import type { KekVersionRow, Repositories } from '@app/persistence';
import { KeyConfig, kekWrapContext, ProviderError } from '@app/provider-port';
import { DomainError, ErrorCode } from './errors';
import type { ProviderRegistry } from './provider-registry';

const BINDING_TTL_MS = 30_000;
const BINDINGS_MAX = 10_000;
/** One revocation-check request per workspace in this window, however many unwraps the customer key refuses. */
const REVOCATION_NOTICE_MS = 30_000;

export interface KekResolverHooks {
  /** A revocation-class refusal on unwrap: ask for a revocation check (de-duplicated). Never shred inline. */
  onRevocationSuspected(tenantId: string, workspaceId: string, errorClass: string): Promise<void>;
}

/**
 * Turns (tenant, workspace, version) into a usable plaintext KEK: cache first; on a miss one KMS unwrap shared
 * by all concurrent callers, then the key-check value is verified before the KEK is trusted.
 */
export class KekResolver {
  private readonly revocationNotified = new LRUCache<string, true>({ max: BINDINGS_MAX, ttl: REVOCATION_NOTICE_MS });
  /**
   * Bound provider configurations by tenant + key configuration id (no secrets: key and role identifiers, the
   * tenant's ExternalId / service account). Many workspaces share one configuration, so a cold KEK usually needs one
   * read (its KEK row) before the KMS call instead of two round trips. Short TTL: a configuration's content only
   * changes when it is re-validated, and a deleted one has no KEK rows left to unwrap.
   */
  private readonly bindings = new LRUCache<string, { config: KeyConfig }>({ max: BINDINGS_MAX, ttl: BINDING_TTL_MS });

  constructor(
    private readonly repos: Repositories,
    private readonly registry: ProviderRegistry,
    private readonly cache: KekCache,
    private readonly hooks: KekResolverHooks,
    private readonly retryAfterSeconds: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /**
   * `prefetched`: KEK rows the caller already read (same tenant and workspace), so a miss can go straight to the KMS
   * instead of reading its row first.
   */
  withKek<T>(
    tenantId: string,
    workspaceId: string,
    version: number,
    fn: (kek: Buffer) => T,
    prefetched?: readonly KekVersionRow[],
  ): Promise<T> {
    return this.cache.use(
      { tenantId, workspaceId, version },
      () => this.load(tenantId, workspaceId, version, prefetched),
      fn,
    );
  }

  /** Whether any KEK version of the workspace is cached: if not, a caller may prefetch the KEK rows alongside its own reads. */
  mayNeedRows(workspaceId: string): boolean {
    return !this.cache.hasWorkspace(workspaceId);
  }

  /**
   * The cached KEK, synchronously, or undefined on a miss. Valid only until the caller yields: use it in the same
   * synchronous stretch (KekCache.peek).
   */
  peek(tenantId: string, workspaceId: string, version: number): Buffer | undefined {
    return this.cache.peek(tenantId, workspaceId, version);
  }

  /** The cached encoded DEK (KekCache.dekBody): a fresh string, or undefined. */
  dekBody(
    tenantId: string,
    workspaceId: string,
    version: number,
    segmentId: string,
    dekId: string,
  ): string | undefined {
    return this.cache.dekBody(tenantId, workspaceId, version, segmentId, dekId);
  }

  /** Part of a cached encoded DEK (KekCache.dekPart). */
  dekPart(
    tenantId: string,
    workspaceId: string,
    version: number,
    segmentId: string,
    dekId: string,
    from: number,
    to: number,
  ): string | undefined {
    return this.cache.dekPart(tenantId, workspaceId, version, segmentId, dekId, from, to);
  }

  /** Cache an encoded DEK under its KEK, if that KEK is cached (KekCache.putDek). */
  putDek(
    tenantId: string,
    workspaceId: string,
    version: number,
    segmentId: string,
    dekId: string,
    encoded: string,
  ): boolean {
    return this.cache.putDek(tenantId, workspaceId, version, segmentId, dekId, encoded);
  }

  private async load(
    tenantId: string,
    workspaceId: string,
    version: number,
    prefetched?: readonly KekVersionRow[],
  ): Promise<Buffer> {
    const hint = prefetched?.find(
      (r) => r.version === version && r.tenantId === tenantId && r.workspaceId === workspaceId,
    );
    const row = hint ?? (await this.repos.keks.find(tenantId, workspaceId, version));
    if (!row) throw new DomainError(ErrorCode.KeyIntegrity, `KEK version ${version} of the workspace is missing`);
    const { config } = await this.binding(tenantId, row.keyConfigurationId);
    const binding = this.registry.binding(config.provider);
    let kek: Buffer;
    try {
      kek = await binding.provider.unwrap(
        config,
        { ciphertext: row.wrapped, keyVersion: row.providerKeyVersion },
        kekWrapContext({ tenantId, workspaceId, keyConfigurationId: row.keyConfigurationId, kekVersion: version }),
      );
    } catch (err) {
      throw await this.failure(tenantId, workspaceId, err);
    }
    if (!kcvMatches(kek, row.kcv)) {
      kek.fill(0);
      throw new DomainError(ErrorCode.KeyIntegrity, 'the unwrapped KEK does not match its key-check value');
    }
    void this.repos.workspaces.setDegraded(tenantId, workspaceId, false).catch(this.onError);
    return kek;
  }

  private async binding(tenantId: string, keyConfigurationId: string): Promise<{ config: KeyConfig }> {
    const key = [tenantId, keyConfigurationId].join('|');
    const hit = this.bindings.get(key);
    if (hit) return hit;
    const found = await this.repos.keyConfigurations.findWithTenant(tenantId, keyConfigurationId);
    if (!found) throw new DomainError(ErrorCode.KeyIntegrity, 'the key configuration of this KEK is missing');
    const config = this.registry.binding(found.row.provider).bindTenant(found.row.config, found.tenant);
    const entry = { config };
    this.bindings.set(key, entry);
    return entry;
  }

  private async failure(tenantId: string, workspaceId: string, err: unknown): Promise<DomainError> {
    const pe = err instanceof ProviderError ? err : null;
    // Transient or not, nothing usable is cached: serve nothing, mark degraded, tell the client when to retry.
    void this.repos.workspaces.setDegraded(tenantId, workspaceId, true).catch(this.onError);
    if (pe?.revocationCandidate) {
      if (!this.revocationNotified.has(workspaceId)) {
        this.revocationNotified.set(workspaceId, true);
        await this.hooks.onRevocationSuspected(tenantId, workspaceId, pe.errorClass).catch(this.onError);
      }
      return new DomainError(
        ErrorCode.KmsUnavailable,
        `the customer key refused to unwrap the workspace key (${pe.errorClass}); a revocation check was requested`,
        this.retryAfterSeconds,
      );
    }
    if (pe?.errorClass === 'ownership_unproven')
      return new DomainError(
        ErrorCode.KmsUnavailable,
        "the customer's key no longer proves that its owner gave it to this tenant (ownership_unproven): Keyhold will not use it until the ownership tag is back",
        this.retryAfterSeconds,
      );
    return new DomainError(
      ErrorCode.KmsUnavailable,
      `the customer's key service could not be reached${pe ? ` (${pe.errorClass})` : ''}`,
      this.retryAfterSeconds,
    );
  }
}
