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

/**
 * Cross-replica invalidation of cached KEKs over Redis pub/sub (channel `{prefix}:kek-invalidation`), with a
 * bounded fallback for lost messages (pub/sub is at-most-once: a replica that was reconnecting misses them):
 * every `pollIntervalMs` the state_version of each workspace with cached KEKs is compared with the one seen
 * when it was cached, and changed workspaces are dropped. A missed shred therefore lingers at most one poll
 * interval, never a full TTL.
 *
 * A segment destroy travels on the same channel ('segment': only that segment's cached DEK row is dropped, the
 * KEK stays) and bumps the workspace's segment_epoch, which the poll's version includes: a replica that missed
 * the message drops the whole workspace's cached rows within one poll interval, like a missed shred.
 */
export class KekInvalidationBus {
  private readonly origin = randomUUID();
  private readonly channel: string;
  private readonly seenVersions = new Map<string, number>();
  private poller: NodeJS.Timeout | undefined;
  private subscribed = false;
  private readonly segmentListeners = new Set<SegmentListener>();

  constructor(
    private readonly cache: KekCache,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    private readonly stateVersions: (workspaceIds: string[]) => Promise<Map<string, number>>,
    private readonly pollIntervalMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.channel = `${prefix}:kek-invalidation`;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      try {
        const m = JSON.parse(raw) as Message;
        if (typeof m.t !== 'string' || typeof m.w !== 'string') return;
        if (m.k === 'segment') {
          // A malformed segment message falls back to dropping the whole workspace (never keeps a stale row).
          if (typeof m.s === 'string' && typeof m.v === 'number') this.dropSegment(m.w, m.s, m.v);
          else this.cache.dropWorkspace(m.t, m.w, 'invalidate');
        } else this.cache.dropWorkspace(m.t, m.w, m.k === 'shred' ? 'shred' : 'invalidate');
      } catch (err) {
        this.onError(err);
      }
    });
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
    this.poller = setInterval(() => void this.poll().catch(this.onError), this.pollIntervalMs);
    this.poller.unref();
  }

  /**
   * Remember the version (state_version + segment_epoch) a workspace had when its state was read (baseline for
   * the poll). A read that finds a newer version than the baseline is itself a missed invalidation: the
   * workspace is dropped here as the poll would, before the baseline moves (else a background re-read could
   * advance it past a missed segment destroy and the poll would never see the difference).
   */
  observe(workspaceId: string, stateVersion: number): void {
    const seen = this.seenVersions.get(workspaceId);
    if (seen !== undefined && stateVersion > seen) this.cache.dropWorkspace('', workspaceId, 'poll');
    if (seen === undefined || stateVersion > seen) this.seenVersions.set(workspaceId, stateVersion);
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
   * state_version + segment_epoch right after the destroy.
   */
  async destroySegment(tenantId: string, workspaceId: string, segmentId: string, cacheVersion: number): Promise<void> {
    this.dropSegment(workspaceId, segmentId, cacheVersion);
    const m: Message = { t: tenantId, w: workspaceId, k: 'segment', o: this.origin, s: segmentId, v: cacheVersion };
    await this.publisher.publish(this.channel, JSON.stringify(m));
  }

  async poll(): Promise<void> {
    const ids = [...new Set([...this.cache.cachedWorkspaces(), ...this.seenVersions.keys()])];
    if (!ids.length) return;
    const current = await this.stateVersions(ids);
    for (const id of ids) {
      const seen = this.seenVersions.get(id);
      const now = current.get(id);
      if (now === undefined || (seen !== undefined && now !== seen)) {
        this.seenVersions.delete(id);
        this.cache.dropWorkspace('', id, 'poll');
      } else if (seen === undefined && now !== undefined) this.seenVersions.set(id, now);
    }
    // forget baselines of workspaces no longer cached anywhere here
    if (this.seenVersions.size > 100_000) this.seenVersions.clear();
  }

  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    if (this.subscribed) await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  private dropSegment(workspaceId: string, segmentId: string, cacheVersion: number): void {
    for (const l of this.segmentListeners) {
      try {
        l(workspaceId, segmentId);
      } catch {
        // listeners only drop their own caches
      }
    }
    // The poll baseline moves past this destroy only if nothing else changed in between (exactly one step):
    // otherwise the poll still sees a difference and drops the whole workspace.
    if (this.seenVersions.get(workspaceId) === cacheVersion - 1) this.seenVersions.set(workspaceId, cacheVersion);
  }

  private async broadcast(tenantId: string, workspaceId: string, kind: 'invalidate' | 'shred'): Promise<void> {
    this.seenVersions.delete(workspaceId);
    this.cache.dropWorkspace(tenantId, workspaceId, kind);
    const m: Message = { t: tenantId, w: workspaceId, k: kind, o: this.origin };
    await this.publisher.publish(this.channel, JSON.stringify(m));
  }
}
