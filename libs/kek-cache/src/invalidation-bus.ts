import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { KekCache } from './kek-cache';

interface Message {
  readonly t: string;
  readonly w: string;
  readonly k: 'invalidate' | 'shred' | 'segment';
  readonly o: string;
  /** 'segment' only: the destroyed segment id and the workspace's cache version after the destroy. */
  readonly s?: string;
  readonly v?: number;
}

/** Drops one segment's cached wrapped DEK row (the DEK service). */
export type SegmentListener = (workspaceId: string, segmentId: string) => void;
/** A workspace whose keys changed: `kind` is the bus message kind (`shred`, `invalidate`, or a later one). */
export interface WorkspaceKeyEvent {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly kind: string;
}

/**
 * Cross-replica invalidation of cached KEKs over Redis pub/sub (channel `{prefix}:kek-invalidation`), with a
 * bounded fallback for lost messages (pub/sub is at-most-once: a replica that was reconnecting misses them).
 *
 * The fallback compares one number per workspace, its KEK generation (workspaces.kek_generation), which moves only
 * on events that must drop plaintext KEKs (shred, destroy, re-key, rotation switch and retirement, reinstate) and
 * never on a degraded or access_suspect flip: an outage marks workspaces degraded, and that must not flush the cache
 * that lets them ride it out. Every `pollIntervalMs` the current generations of the workspaces cached here are read;
 * a workspace whose generation differs from its baseline, or that is no longer in a KEK-holding state (`generations`
 * leaves it out), is dropped. A missed shred therefore lingers at most one poll interval, never a full TTL.
 *
 * The baseline is the generation seen before the KEK was loaded (the DEK path reports its state read through
 * `observe`, which runs alongside the cold KEK load) or, failing that, the first poll that sees the workspace.
 * Reads can never advance it: a read that sees a newer generation is itself proof of a missed invalidation, and drops
 * the workspace instead.
 */
export class KekInvalidationBus {
  private readonly origin = randomUUID();
  private readonly channel: string;
  private readonly baselines = new Map<string, number>();
  private poller: NodeJS.Timeout | undefined;
  private subscribed = false;
  private readonly segmentListeners = new Set<SegmentListener>();
  private readonly listeners = new Set<(e: WorkspaceKeyEvent) => void>();

  constructor(
    private readonly cache: KekCache,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    /** Current KEK generation of the given workspaces; a workspace left out must be purged. */
    private readonly generations: (workspaceIds: string[]) => Promise<Map<string, number>>,
    private readonly pollIntervalMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.channel = `${prefix}:kek-invalidation`;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel || !this.subscribed) return;
      try {
        const m = JSON.parse(raw) as Message;
        if (typeof m.t !== 'string' || typeof m.w !== 'string') return;
        if (m.k === 'segment') {
          // A malformed segment message falls back to dropping the whole workspace (never keeps a stale row).
          if (typeof m.s === 'string' && typeof m.v === 'number') this.dropSegment(m.w, m.s, m.v);
          else this.drop(m.t, m.w, 'invalidate');
        } else this.drop(m.t, m.w, m.k === 'shred' ? 'shred' : 'invalidate');
        if (this.listeners.size)
          this.notify({ tenantId: m.t, workspaceId: m.w, kind: typeof m.k === 'string' ? m.k : 'invalidate' });
      } catch (err) {
        this.onError(err);
      }
    });
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
    // Polled twice per interval: the bound is "a missed invalidation lingers at most one poll interval", and a poll
    // that starts just before the shred commits plus the poll's own query time would otherwise overrun it.
    this.poller = setInterval(
      () => void this.poll().catch(this.onError),
      Math.max(1, Math.floor(this.pollIntervalMs / 2)),
    );
    this.poller.unref();
  }

  /**
   * A state read saw this KEK generation. Sets the poll's baseline if there is none; never moves it forward. A newer
   * generation than the baseline means an invalidation was missed: drop now rather than wait for the poll.
   */
  observe(workspaceId: string, generation: number): void {
    const baseline = this.baselines.get(workspaceId);
    if (baseline === undefined) this.baselines.set(workspaceId, generation);
    else if (generation > baseline) this.drop('', workspaceId, 'poll');
  }

  async invalidateWorkspace(tenantId: string, workspaceId: string): Promise<void> {
    await this.broadcast(tenantId, workspaceId, 'invalidate');
  }

  /** Drop the workspace's plaintext KEKs here and on every replica. */
  async shredWorkspace(tenantId: string, workspaceId: string): Promise<void> {
    await this.broadcast(tenantId, workspaceId, 'shred');
  }

  /** Listen for destroyed segments (local and from other replicas). */
  onSegmentDestroyed(l: SegmentListener): () => void {
    this.segmentListeners.add(l);
    return () => this.segmentListeners.delete(l);
  }

  /**
   * Drop one destroyed segment's cached DEK row here and on every replica. `cacheVersion` is the workspace's
   * kek_generation + segment_epoch right after the destroy.
   */
  async destroySegment(tenantId: string, workspaceId: string, segmentId: string, cacheVersion: number): Promise<void> {
    this.dropSegment(workspaceId, segmentId, cacheVersion);
    const m: Message = { t: tenantId, w: workspaceId, k: 'segment', o: this.origin, s: segmentId, v: cacheVersion };
    await this.publisher.publish(this.channel, JSON.stringify(m));
  }

  async poll(): Promise<void> {
    const ids = [...new Set([...this.cache.cachedWorkspaces(), ...this.baselines.keys()])];
    if (!ids.length) return;
    const current = await this.generations(ids);
    const cached = new Set(this.cache.cachedWorkspaces());
    for (const id of ids) {
      const baseline = this.baselines.get(id);
      const now = current.get(id);
      if (now === undefined || (baseline !== undefined && now !== baseline)) this.drop('', id, 'poll');
      else if (baseline === undefined) this.baselines.set(id, now);
      // a baseline with nothing cached left (TTL, LRU) is kept only while a state read may still load the KEK
      else if (!cached.has(id) && this.baselines.size > 10_000) this.baselines.delete(id);
    }
  }

  /**
   * Stop hearing pub/sub while everything else keeps running: what a replica whose subscriber connection dropped
   * at the wrong moment experiences. For tests and the hardening suite (proves the poll alone purges in time).
   */
  async detachSubscription(): Promise<void> {
    if (!this.subscribed) return;
    this.subscribed = false;
    await this.subscriber.unsubscribe(this.channel);
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    if (this.subscribed) await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
    this.subscribed = false;
  }

  /**
   * Every message seen on the channel (this replica's own broadcasts included: Redis delivers them back), after
   * the local caches were dropped. The API's event stream relays them to client caches.
   */
  onMessage(listener: (e: WorkspaceKeyEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(e: WorkspaceKeyEvent): void {
    for (const l of this.listeners)
      try {
        l(e);
      } catch (err) {
        this.onError(err);
      }
  }

  /**
   * A destroyed segment: its cached plaintext DEK and DEK row go (the KEK stays). The poll compares kek_generation + segment_epoch,
   * so the baseline moves past this destroy only if nothing else changed in between (exactly one step); otherwise
   * the poll still sees a difference and drops the whole workspace.
   */
  private dropSegment(workspaceId: string, segmentId: string, cacheVersion: number): void {
    // The segment's plaintext DEK first, in the cache that owns it (the KEK stays: other segments still use it).
    this.cache.dropDek(workspaceId, segmentId);
    for (const l of this.segmentListeners) {
      try {
        l(workspaceId, segmentId);
      } catch {
        // listeners only drop their own caches
      }
    }
    if (this.baselines.get(workspaceId) === cacheVersion - 1) this.baselines.set(workspaceId, cacheVersion);
  }

  /** Local drop; the baseline goes with it (the next load sets a fresh one). */
  private drop(tenantId: string, workspaceId: string, reason: 'invalidate' | 'shred' | 'poll'): void {
    this.baselines.delete(workspaceId);
    this.cache.dropWorkspace(tenantId, workspaceId, reason);
  }

  private async broadcast(tenantId: string, workspaceId: string, kind: 'invalidate' | 'shred'): Promise<void> {
    this.drop(tenantId, workspaceId, kind);
    const m: Message = { t: tenantId, w: workspaceId, k: kind, o: this.origin };
    await this.publisher.publish(this.channel, JSON.stringify(m));
  }
}
