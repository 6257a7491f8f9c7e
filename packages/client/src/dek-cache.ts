import { LRUCache } from 'lru-cache';
import type { DekMaterial } from './envelope';

export interface DekCacheOptions {
  /** Most DEKs held. Default 10 000. */
  maxEntries: number;
  /** Most bytes held (key material plus bookkeeping estimate). Default 4 MiB. */
  maxBytes: number;
  /**
   * How long a DEK is used without asking the server again (ms). Keep it at or under the server's workspace
   * state TTL (KEYHOLD_DEK_STATE_CACHE_TTL_MS, 2 s by default): it bounds how long a shred can go unnoticed when
   * the event stream is down. Default 2 000.
   */
  ttlMs: number;
}

export const DEFAULT_DEK_CACHE: DekCacheOptions = { maxEntries: 10_000, maxBytes: 4 * 1024 * 1024, ttlMs: 2_000 };

/** Rough per-entry overhead beyond the 32 key bytes: the cache key, ids, map and list nodes. */
const ENTRY_OVERHEAD = 160;

/**
 * Plaintext DEKs of this process, bounded by entries, bytes and age. Every way an entry leaves (TTL, LRU,
 * purge, replacement, clear) goes through `dispose`, which zeroes the key buffer; callers that need a key beyond
 * the current tick take a copy.
 */
export class DekCache {
  private readonly lru: LRUCache<string, DekMaterial>;
  /** Bumped per workspace on purge: a fetch that started before the purge must not repopulate the cache. */
  private readonly epochs = new Map<string, number>();
  private generation = 0;

  constructor(opts: Partial<DekCacheOptions> = {}) {
    const o = { ...DEFAULT_DEK_CACHE, ...opts };
    this.lru = new LRUCache<string, DekMaterial>({
      max: o.maxEntries,
      maxSize: o.maxBytes,
      sizeCalculation: (v, k) => v.key.length + k.length * 2 + ENTRY_OVERHEAD,
      ttl: o.ttlMs,
      ttlAutopurge: true,
      updateAgeOnGet: false,
      dispose: (v) => v.key.fill(0),
    });
  }

  static key(workspaceId: string, segmentId: string): string {
    return `${workspaceId.toLowerCase()}\u0000${segmentId}`;
  }

  get(workspaceId: string, segmentId: string): DekMaterial | undefined {
    return this.lru.get(DekCache.key(workspaceId, segmentId));
  }

  /** An opaque mark to pass back to `set`: it changes when the workspace (or the whole cache) is purged. */
  epoch(workspaceId: string): string {
    return `${this.generation}:${this.epochs.get(workspaceId.toLowerCase()) ?? 0}`;
  }

  /** Stores a DEK unless the workspace was purged since `epoch` was read (then the key is zeroed instead). */
  set(workspaceId: string, segmentId: string, dek: DekMaterial, epoch: string): boolean {
    if (this.epoch(workspaceId) !== epoch) {
      dek.key.fill(0);
      return false;
    }
    this.lru.set(DekCache.key(workspaceId, segmentId), dek);
    return true;
  }

  /** Drops (and zeroes) everything cached for a workspace. */
  purgeWorkspace(workspaceId: string): number {
    const ws = workspaceId.toLowerCase();
    this.epochs.set(ws, (this.epochs.get(ws) ?? 0) + 1);
    const prefix = `${ws}\u0000`;
    let n = 0;
    for (const k of [...this.lru.keys()])
      if (k.startsWith(prefix)) {
        this.lru.delete(k);
        n++;
      }
    return n;
  }

  /** Drops everything (e.g. after the event stream was down: events may have been missed). */
  clear(): void {
    this.generation++;
    this.epochs.clear();
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }
}
