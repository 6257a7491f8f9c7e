import { SecretKey } from '@app/crypto';

export interface KekId {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly version: number;
}

interface Entry {
  readonly key: SecretKey;
  readonly tenantId: string;
  readonly workspaceId: string;
  expiresAt: number;
}

export interface KekCacheStats {
  hits: number;
  misses: number;
  unwraps: number;
  evictions: number;
  size: number;
}

export type InvalidationReason = 'invalidate' | 'shred' | 'poll';
export type InvalidationListener = (tenantId: string, workspaceId: string, reason: InvalidationReason) => void;

/**
 * Plaintext workspace KEKs, in process memory only (shared/README.md §2):
 * - keyed by tenant + workspace + version; the tenant is part of the key and re-checked on read;
 * - TTL and an LRU size bound from config; every buffer is zeroed when it leaves the cache;
 * - single flight: concurrent misses for one KEK share one load (one KMS unwrap);
 * - a load that races with an invalidation of its workspace is used by its waiters but never cached.
 */
export class KekCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  /** Bumped on every invalidation of a workspace; a load started under an older generation is not cached. */
  private readonly generations = new Map<string, number>();
  private readonly listeners = new Set<InvalidationListener>();
  private readonly sweeper: NodeJS.Timeout;
  readonly stats: Omit<KekCacheStats, 'size'> = { hits: 0, misses: 0, unwraps: 0, evictions: 0 };

  constructor(private readonly opts: { ttlMs: number; maxEntries: number }) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(Math.max(opts.ttlMs / 2, 250), 30_000));
    this.sweeper.unref();
  }

  /**
   * Runs `fn` with the plaintext KEK, loading it with `load` on a miss. `fn` must be synchronous: the bytes are
   * only guaranteed valid during the call (an eviction may zero them right after).
   */
  async use<T>(id: KekId, load: () => Promise<Buffer>, fn: (kek: Buffer) => T): Promise<T> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = this.lookup(id) ?? (await this.loadShared(id, load));
      // Between the load resolving and this continuation another task may have evicted (and zeroed) it.
      if (!entry.key.zeroed) return fn(entry.key.bytes());
    }
    throw new Error('KEK was evicted repeatedly while in use; cache too small for the working set');
  }

  /** True if the KEK is cached (tests, metrics). */
  has(id: KekId): boolean {
    return this.lookup(id, false) !== undefined;
  }

  size(): number {
    return this.entries.size;
  }

  snapshot(): KekCacheStats {
    return { ...this.stats, size: this.entries.size };
  }

  onInvalidate(listener: InvalidationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Local drop of every version of one workspace (called by the bus for local and remote invalidations). */
  dropWorkspace(tenantId: string, workspaceId: string, reason: InvalidationReason): void {
    this.generations.set(workspaceId, (this.generations.get(workspaceId) ?? 0) + 1);
    for (const [k, e] of this.entries) {
      if (e.workspaceId === workspaceId) {
        this.entries.delete(k);
        e.key.zero();
      }
    }
    for (const l of this.listeners) {
      try {
        l(tenantId, workspaceId, reason);
      } catch {
        // listeners only drop their own caches; one failing must not stop the others
      }
    }
  }

  /** Workspaces that currently have cached KEKs (for the lost-message fallback poll). */
  cachedWorkspaces(): string[] {
    return [...new Set([...this.entries.values()].map((e) => e.workspaceId))];
  }

  clear(): void {
    for (const e of this.entries.values()) e.key.zero();
    this.entries.clear();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.clear();
  }

  private lookup(id: KekId, count = true): Entry | undefined {
    const k = keyOf(id);
    const e = this.entries.get(k);
    if (!e) {
      if (count) this.stats.misses++;
      return undefined;
    }
    if (e.tenantId !== id.tenantId || e.expiresAt <= Date.now()) {
      this.entries.delete(k);
      e.key.zero();
      if (count) this.stats.misses++;
      return undefined;
    }
    // LRU: re-insert to move to the most-recently-used end.
    this.entries.delete(k);
    this.entries.set(k, e);
    if (count) this.stats.hits++;
    return e;
  }

  private loadShared(id: KekId, load: () => Promise<Buffer>): Promise<Entry> {
    const k = keyOf(id);
    const running = this.inflight.get(k);
    if (running) return running;
    const generation = this.generations.get(id.workspaceId) ?? 0;
    const p = (async () => {
      this.stats.unwraps++;
      const raw = await load();
      const entry: Entry = { key: SecretKey.copyOf(raw), tenantId: id.tenantId, workspaceId: id.workspaceId, expiresAt: Date.now() + this.opts.ttlMs };
      raw.fill(0);
      if ((this.generations.get(id.workspaceId) ?? 0) === generation) this.insert(k, entry);
      else setImmediate(() => entry.key.zero()); // invalidated while loading: let the waiters finish, then wipe
      return entry;
    })();
    this.inflight.set(k, p);
    void p.finally(() => this.inflight.delete(k)).catch(() => undefined);
    return p;
  }

  private insert(k: string, entry: Entry): void {
    const old = this.entries.get(k);
    if (old) {
      this.entries.delete(k);
      old.key.zero();
    }
    this.entries.set(k, entry);
    while (this.entries.size > this.opts.maxEntries) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldestKey);
      oldest.key.zero();
      this.stats.evictions++;
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.entries) {
      if (e.expiresAt <= now) {
        this.entries.delete(k);
        e.key.zero();
        this.stats.evictions++;
      }
    }
  }
}

function keyOf(id: KekId): string {
  return `${id.tenantId}\u0000${id.workspaceId}\u0000${id.version}`;
}
