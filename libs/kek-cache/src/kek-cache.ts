import { inSpan } from '@app/telemetry';
import { KeySlab, SecretSlab, SlabKey } from '@app/crypto';

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
  /**
   * Plaintext DEKs unwrapped under this KEK: they live exactly as long as this entry. One DEK is held directly, more
   * in a map by segment id (a Map costs a few hundred bytes; most cached workspaces hold one hot DEK).
   */
  deks: CachedDek | Map<string, CachedDek> | null = null;

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

/**
 * One cached plaintext DEK, in its encoded form (the DEK route's response body, which carries the key in base64),
 * in a slot of the DEK slab. Owned by the KEK entry that wrapped it: dropping the KEK drops it in the same step.
 */
class CachedDek {
  /** CLOCK reference bit for the byte bound. */
  ref = false;

  constructor(
    readonly owner: Entry,
    readonly segmentId: string,
    /** The DEK row's id: a hit must name the row the caller holds (a recreated row never matches a stale slot). */
    readonly dekId: string,
    readonly slot: number,
    readonly length: number,
  ) {}
}

/** The DEK of `segmentId` cached under this KEK entry, if any. */
function dekOf(e: Entry, segmentId: string): CachedDek | undefined {
  const held = e.deks;
  if (held === null) return undefined;
  if (held instanceof CachedDek) return held.segmentId === segmentId ? held : undefined;
  return held.get(segmentId);
}

/**
 * Bytes charged per cached DEK against the byte bound: its slot plus the bookkeeping around it (the entry object,
 * its place in its KEK's map and in the CLOCK ring), rounded up from what the memory benchmark measures.
 */
export const DEK_SLOT_BYTES = 128;
export const DEK_ENTRY_BYTES = 320;

export interface KekCacheStats {
  hits: number;
  misses: number;
  unwraps: number;
  evictions: number;
  size: number;
  /** Plaintext DEK cache: hits, insertions, evictions by the byte bound, entries now and bytes charged. */
  dekHits: number;
  dekStores: number;
  dekEvictions: number;
  deks: number;
  dekBytes: number;
}

/** Test-only view of the plaintext DEK cache (see KekCache.inspectPlaintext). */
export interface PlaintextInspection {
  /** Cached DEKs of one workspace (every KEK version), or of all workspaces. */
  deks(workspaceId?: string): number;
  /** Bytes charged against the bound. */
  bytes(): number;
  /** Whether these bytes occur anywhere in the DEK slab's memory (live or released slots). */
  contains(needle: Buffer): boolean;
}

export type InvalidationReason = 'invalidate' | 'shred' | 'poll';
export type InvalidationListener = (tenantId: string, workspaceId: string, reason: InvalidationReason) => void;

/**
 * Plaintext workspace KEKs, in process memory only:
 * - keyed by workspace + version; the tenant is stored with the key and re-checked on every read;
 * - TTL and a size bound from config (CLOCK, an LRU approximation); every key is zeroed when it leaves the cache;
 * - single flight: concurrent misses for one KEK share one load (one KMS unwrap);
 * - a load that races with an invalidation of its workspace is used by its waiters but never cached.
 *
 * It also holds the replica's plaintext DEKs (encoded as the DEK route answers them), each under the KEK entry that
 * wraps it: a DEK is cached only while its KEK is, and every path that drops a KEK (TTL, CLOCK eviction, shred,
 * destroy, re-key, rotation switch or retirement, a remote invalidation, the generation poll, close) goes through
 * `kill`, which zeroes the KEK's DEK slots in the same step. A destroyed segment drops its one DEK (`dropDek`). The
 * DEKs are bounded in bytes (`dekMaxBytes`, CLOCK across all of them) and live in a slab whose slots are zeroed on
 * release. One owner for both, so no second cache can outlive an invalidation it did not hear.
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
  readonly stats: Omit<KekCacheStats, 'size' | 'deks' | 'dekBytes'> = {
    hits: 0,
    misses: 0,
    unwraps: 0,
    evictions: 0,
    dekHits: 0,
    dekStores: 0,
    dekEvictions: 0,
  };
  private readonly dekSlab = new SecretSlab(DEK_SLOT_BYTES);
  /** Every cached DEK in insertion order: the CLOCK circle of the byte bound. */
  private readonly dekRing = new Set<CachedDek>();
  private readonly maxDeks: number;

  constructor(
    private readonly opts: {
      ttlMs: number;
      maxEntries: number;
      /** Byte bound of the plaintext DEK cache; 0 = no DEK caching. Default 0. */ dekMaxBytes?: number;
    },
  ) {
    if (!(opts.ttlMs > 0)) throw new Error('KEK cache ttlMs must be positive');
    if (!Number.isSafeInteger(opts.maxEntries) || opts.maxEntries < 1)
      throw new Error('KEK cache maxEntries must be a positive integer');
    const dekMaxBytes = opts.dekMaxBytes ?? 0;
    if (!Number.isSafeInteger(dekMaxBytes) || dekMaxBytes < 0)
      throw new Error('KEK cache dekMaxBytes must be a non-negative integer');
    this.maxDeks = Math.floor(dekMaxBytes / DEK_ENTRY_BYTES);
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
    return { ...this.stats, size: this.count, deks: this.dekRing.size, dekBytes: this.dekRing.size * DEK_ENTRY_BYTES };
  }

  /**
   * The hot path's DEK hit: the cached encoded DEK of (workspace, KEK version, segment) as a fresh string, or
   * undefined. A hit requires the KEK itself to be cached and unexpired for this tenant (same checks as `peek`) and
   * the cached DEK to belong to the row `dekId` names. The string is a per-request copy (the slot may be zeroed or
   * reused as soon as the caller yields); nothing else about the request is decided here: scope and state are the
   * caller's checks, on every request.
   */
  dekBody(
    tenantId: string,
    workspaceId: string,
    version: number,
    segmentId: string,
    dekId: string,
  ): string | undefined {
    const d = this.dekHit(tenantId, workspaceId, version, segmentId, dekId, true);
    if (d === undefined) return undefined;
    const off = this.dekSlab.offset(d.slot);
    return this.dekSlab.chunk(d.slot).toString('latin1', off, off + d.length);
  }

  /** Bytes [from, to) of a cached encoded DEK (e.g. the base64 key inside the body), as a fresh string; see dekBody. */
  dekPart(
    tenantId: string,
    workspaceId: string,
    version: number,
    segmentId: string,
    dekId: string,
    from: number,
    to: number,
  ): string | undefined {
    // Not counted as a KEK hit: the batch path reads its DEKs while it already holds the KEK (counted once).
    const d = this.dekHit(tenantId, workspaceId, version, segmentId, dekId, false);
    if (d === undefined || to > d.length || from < 0 || from > to) return undefined;
    const off = this.dekSlab.offset(d.slot);
    return this.dekSlab.chunk(d.slot).toString('latin1', off + from, off + to);
  }

  /**
   * Caches an encoded DEK (latin1, at most DEK_SLOT_BYTES) under its KEK entry, if that KEK is cached right now
   * (else nothing: a DEK never outlives its KEK, so it cannot be cached without it). The caller decides that the
   * DEK is current (its row was not forgotten while it was read). Returns whether it was cached.
   */
  putDek(
    tenantId: string,
    workspaceId: string,
    version: number,
    segmentId: string,
    dekId: string,
    encoded: string,
  ): boolean {
    if (this.maxDeks === 0 || encoded.length > DEK_SLOT_BYTES) return false;
    const e = this.lookup(tenantId, workspaceId, version, false);
    if (e === undefined || !e.alive) return false;
    const old = dekOf(e, segmentId);
    if (old !== undefined) this.removeDek(old);
    while (this.dekRing.size >= this.maxDeks) this.evictDek();
    // Eviction may have taken this KEK's other DEKs, never the KEK itself: `e` is still the live entry.
    const slot = this.dekSlab.alloc();
    const written = this.dekSlab.chunk(slot).write(encoded, this.dekSlab.offset(slot), DEK_SLOT_BYTES, 'latin1');
    const d = new CachedDek(e, segmentId, dekId, slot, written);
    const held = e.deks;
    if (held === null) e.deks = d;
    else if (held instanceof CachedDek)
      e.deks = new Map([
        [held.segmentId, held],
        [segmentId, d],
      ]);
    else held.set(segmentId, d);
    this.dekRing.add(d);
    this.stats.dekStores++;
    return true;
  }

  /** A destroyed segment: its cached DEK goes (under every cached KEK version of the workspace); the KEKs stay. */
  dropDek(workspaceId: string, segmentId: string): void {
    for (let e: Entry | null | undefined = this.entries.get(workspaceId); e; e = e.next) {
      const d = dekOf(e, segmentId);
      if (d !== undefined) this.removeDek(d);
    }
  }

  /**
   * Test-only inspection of the plaintext DEK cache: counts by workspace, the bytes charged, and a scan of the DEK
   * slab's memory for given bytes. Never used by the product.
   */
  inspectPlaintext(): PlaintextInspection {
    return {
      deks: (workspaceId?: string) => {
        if (workspaceId === undefined) return this.dekRing.size;
        // Counted from the ring, not from the KEK entries: a DEK left behind by a dropped KEK would show here.
        let n = 0;
        for (const d of this.dekRing) if (d.owner.workspaceId === workspaceId) n++;
        return n;
      },
      bytes: () => this.dekRing.size * DEK_ENTRY_BYTES,
      contains: (needle: Buffer) => this.dekSlab.contains(needle),
    };
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
    this.dekSlab.wipe();
  }

  private dekHit(
    tenantId: string,
    workspaceId: string,
    version: number,
    segmentId: string,
    dekId: string,
    countKek: boolean,
  ): CachedDek | undefined {
    let e: Entry | null | undefined = this.entries.get(workspaceId);
    while (e && e.version !== version) e = e.next;
    if (!e) return undefined;
    const d = dekOf(e, segmentId);
    // Same checks as a KEK hit: the tenant on every read, the KEK's expiry (an expired KEK takes its DEKs with it).
    if (d === undefined || d.dekId !== dekId || e.tenantId !== tenantId) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.unlink(e);
      return undefined;
    }
    e.ref = true;
    d.ref = true;
    if (countKek) this.stats.hits++;
    this.stats.dekHits++;
    return d;
  }

  private removeDek(d: CachedDek): void {
    const held = d.owner.deks;
    if (held === d) d.owner.deks = null;
    else if (held instanceof Map && held.get(d.segmentId) === d) held.delete(d.segmentId);
    if (this.dekRing.delete(d)) this.dekSlab.release(d.slot);
  }

  /** CLOCK over all cached DEKs: a DEK hit since the hand last passed gets a second chance. */
  private evictDek(): void {
    let spins = 0;
    const limit = this.dekRing.size;
    for (;;) {
      const d = this.dekRing.values().next().value as CachedDek;
      if (d.ref && spins++ < limit) {
        d.ref = false;
        this.dekRing.delete(d);
        this.dekRing.add(d);
        continue;
      }
      this.removeDek(d);
      this.stats.dekEvictions++;
      return;
    }
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
    const p = inSpan(
      'kek.unwrap',
      { 'keyhold.tenant_id': id.tenantId, 'keyhold.workspace_id': id.workspaceId, 'keyhold.kek_version': id.version },
      async () => {
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
      },
    );
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

  /** The one place a KEK leaves the cache: its key and every DEK it wraps are zeroed together. */
  private kill(e: Entry): void {
    e.alive = false;
    e.key.zero();
    const held = e.deks;
    if (held !== null) {
      e.deks = null;
      if (held instanceof CachedDek) {
        if (this.dekRing.delete(held)) this.dekSlab.release(held.slot);
      } else for (const d of held.values()) if (this.dekRing.delete(d)) this.dekSlab.release(d.slot);
    }
  }

  private sweep(): void {
    const now = Date.now();
    const expired: Entry[] = [];
    for (const head of this.entries.values())
      for (let e: Entry | null = head; e; e = e.next) if (e.expiresAt <= now) expired.push(e);
    for (const e of expired) this.unlink(e);
  }
}
