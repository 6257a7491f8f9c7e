import { inSpan } from '@app/telemetry';
import { KeySlab, SlabKey } from '@app/crypto';

export interface KekId {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly version: number;
}

/**
 * One cached KEK version. Compact on purpose (memory per cached workspace is a benchmarked budget): the key
 * lives in a shared slab slot, versions of one workspace form a short chain off one Map slot, and recency is one
 * bit (CLOCK) instead of a Map re-insert per hit. No closures, no per-entry timers.
 */
class Entry {
  /** CLOCK reference bit: set on every hit, cleared as the eviction hand passes. */
  ref = false;
  /** False once removed from the cache; waiters of a load check it before using the key. */
  alive = true;

  constructor(
    readonly key: SlabKey,
    readonly tenantId: string,
    readonly workspaceId: string,
    readonly version: number,
    readonly expiresAt: number,
    /** Other cached versions of the same workspace (normally none; two during a KEK rotation). */
    public next: Entry | null,
  ) {}
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
 * Plaintext workspace KEKs, in process memory only:
 * - keyed by workspace + version; the tenant is stored with the key and re-checked on every read;
 * - TTL and a size bound from config (CLOCK, an LRU approximation); every key is zeroed when it leaves the cache;
 * - single flight: concurrent misses for one KEK share one load (one KMS unwrap);
 * - a load that races with an invalidation of its workspace is used by its waiters but never cached.
 */
export class KekCache {
  /** workspaceId → newest-first chain of cached versions. Map order = insertion order = the CLOCK's circle. */
  private readonly entries = new Map<string, Entry>();
  private count = 0;
  private readonly slab = new KeySlab(256);
  private readonly inflight = new Map<string, Promise<Entry>>();
  /** Bumped on every invalidation of a workspace; a load started under an older generation is not cached. */
  private readonly generations = new Map<string, number>();
  private readonly listeners = new Set<InvalidationListener>();
  private readonly sweeper: NodeJS.Timeout;
  readonly stats: Omit<KekCacheStats, 'size'> = { hits: 0, misses: 0, unwraps: 0, evictions: 0 };

  constructor(private readonly opts: { ttlMs: number; maxEntries: number }) {
    if (!(opts.ttlMs > 0)) throw new Error('KEK cache ttlMs must be positive');
    if (!Number.isSafeInteger(opts.maxEntries) || opts.maxEntries < 1) throw new Error('KEK cache maxEntries must be a positive integer');
    this.sweeper = setInterval(() => this.sweep(), Math.min(Math.max(opts.ttlMs / 2, 250), 30_000));
    this.sweeper.unref();
  }

  /**
   * Runs `fn` with the plaintext KEK, loading it with `load` on a miss. `fn` must be synchronous: the bytes are
   * only guaranteed valid during the call (an eviction may zero them right after).
   */
  async use<T>(id: KekId, load: () => Promise<Buffer>, fn: (kek: Buffer) => T): Promise<T> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const entry = this.lookup(id.tenantId, id.workspaceId, id.version, true) ?? (await this.loadShared(id, load));
      // Between the load resolving and this continuation another task may have evicted (and zeroed) it.
      if (entry.alive) return fn(entry.key.bytes());
    }
    throw new Error('KEK was evicted repeatedly while in use; cache too small for the working set');
  }

  /**
   * The hot path's synchronous hit: the cached KEK bytes, or undefined on a miss (counted). The bytes are only
   * valid until the caller yields to the event loop — use them in the same synchronous stretch and keep no
   * reference.
   */
  peek(tenantId: string, workspaceId: string, version: number): Buffer | undefined {
    return this.lookup(tenantId, workspaceId, version, true)?.key.bytes();
  }

  /** True if the KEK is cached (tests, metrics). */
  has(id: KekId): boolean {
    return this.lookup(id.tenantId, id.workspaceId, id.version, false) !== undefined;
  }

  /** True if any KEK version of the workspace is cached (live, unexpired or not: a hint, not a guarantee). */
  hasWorkspace(workspaceId: string): boolean {
    return this.entries.has(workspaceId);
  }

  size(): number {
    return this.count;
  }

  snapshot(): KekCacheStats {
    return { ...this.stats, size: this.count };
  }

  onInvalidate(listener: InvalidationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Local drop of every version of one workspace (called by the bus for local and remote invalidations). */
  dropWorkspace(tenantId: string, workspaceId: string, reason: InvalidationReason): void {
    this.generations.set(workspaceId, (this.generations.get(workspaceId) ?? 0) + 1);
    this.removeWorkspace(workspaceId, false);
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
    return [...this.entries.keys()];
  }

  clear(): void {
    for (const head of this.entries.values()) for (let e: Entry | null = head; e; e = e.next) this.kill(e);
    this.entries.clear();
    this.count = 0;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.clear();
    this.slab.wipe();
  }

  private lookup(tenantId: string, workspaceId: string, version: number, count: boolean): Entry | undefined {
    let e: Entry | null | undefined = this.entries.get(workspaceId);
    while (e && e.version !== version) e = e.next;
    if (!e) {
      if (count) this.stats.misses++;
      return undefined;
    }
    // The tenant is re-checked on every read: a workspace id presented under another tenant never gets this key.
    if (e.tenantId !== tenantId) {
      if (count) this.stats.misses++;
      return undefined;
    }
    if (e.expiresAt <= Date.now()) {
      this.unlink(e);
      if (count) this.stats.misses++;
      return undefined;
    }
    if (count) {
      e.ref = true;
      this.stats.hits++;
    }
    return e;
  }

  private loadShared(id: KekId, load: () => Promise<Buffer>): Promise<Entry> {
    const k = `${id.tenantId}\u0000${id.workspaceId}\u0000${id.version}`;
    const running = this.inflight.get(k);
    if (running) return running;
    const generation = this.generations.get(id.workspaceId) ?? 0;
    // The cold path is traced (one span per shared unwrap; the KMS call nests under it); hits never reach here.
    const p = inSpan('kek.unwrap', { 'keyhold.tenant_id': id.tenantId, 'keyhold.workspace_id': id.workspaceId, 'keyhold.kek_version': id.version }, async () => {
      this.stats.unwraps++;
      const raw = await load();
      let key: SlabKey;
      try {
        key = this.slab.copyOf(raw);
      } finally {
        raw.fill(0);
      }
      const entry = new Entry(key, id.tenantId, id.workspaceId, id.version, Date.now() + this.opts.ttlMs, null);
      if ((this.generations.get(id.workspaceId) ?? 0) === generation) this.insert(entry);
      else setImmediate(() => this.kill(entry)); // invalidated while loading: let the waiters finish, then wipe
      return entry;
    });
    this.inflight.set(k, p);
    void p.finally(() => this.inflight.delete(k)).catch(() => undefined);
    return p;
  }

  private insert(entry: Entry): void {
    const head = this.entries.get(entry.workspaceId);
    // Replace an older copy of the same version; keep the other versions chained behind the new entry.
    let rest: Entry | null = head ?? null;
    if (rest) {
      let prev: Entry | null = null;
      for (let e: Entry | null = rest; e; prev = e, e = e.next) {
        if (e.version === entry.version) {
          if (prev) prev.next = e.next;
          else rest = e.next;
          this.kill(e);
          this.count--;
          break;
        }
      }
    }
    entry.next = rest;
    this.entries.set(entry.workspaceId, entry);
    this.count++;
    if (this.count > this.opts.maxEntries) this.evict();
  }

  /**
   * CLOCK over the Map's insertion order: a workspace whose entries were used since the hand last passed gets a
   * second chance (moved to the back, bits cleared); the first one not used is evicted with all its versions.
   */
  private evict(): void {
    let spins = 0;
    while (this.count > this.opts.maxEntries) {
      const first = this.entries.entries().next().value as [string, Entry];
      const [ws, head] = first;
      let used = false;
      for (let e: Entry | null = head; e; e = e.next) {
        if (e.ref) used = true;
        e.ref = false;
      }
      // After one full turn every bit is clear, so this terminates; the spin guard is belt and braces.
      if (used && spins++ < this.entries.size) {
        this.entries.delete(ws);
        this.entries.set(ws, head);
        continue;
      }
      this.removeWorkspace(ws, true);
    }
  }

  private removeWorkspace(workspaceId: string, eviction: boolean): void {
    const head = this.entries.get(workspaceId);
    if (!head) return;
    this.entries.delete(workspaceId);
    for (let e: Entry | null = head; e; e = e.next) {
      this.kill(e);
      this.count--;
      if (eviction) this.stats.evictions++;
    }
  }

  /** Removes one entry (expiry) from its workspace's chain. */
  private unlink(target: Entry): void {
    const head = this.entries.get(target.workspaceId);
    if (!head) return;
    if (head === target) {
      if (target.next) this.entries.set(target.workspaceId, target.next);
      else this.entries.delete(target.workspaceId);
    } else {
      for (let e: Entry | null = head; e; e = e.next) {
        if (e.next === target) {
          e.next = target.next;
          break;
        }
      }
    }
    this.kill(target);
    this.count--;
    this.stats.evictions++;
  }

  private kill(e: Entry): void {
    e.alive = false;
    e.key.zero();
  }

  private sweep(): void {
    const now = Date.now();
    const expired: Entry[] = [];
    for (const head of this.entries.values()) for (let e: Entry | null = head; e; e = e.next) if (e.expiresAt <= now) expired.push(e);
    for (const e of expired) this.unlink(e);
  }
}
