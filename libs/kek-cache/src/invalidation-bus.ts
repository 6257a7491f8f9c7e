import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { KekCache } from './kek-cache';

interface Message {
  readonly t: string;
  readonly w: string;
  readonly k: 'invalidate' | 'shred';
  readonly o: string;
}

/** A workspace whose keys changed: `kind` is the bus message kind (`shred`, `invalidate`, or a later one). */
export interface WorkspaceKeyEvent {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly kind: string;
}

/**
 * Cross-replica invalidation of cached KEKs over Redis pub/sub (channel `{prefix}:kek-invalidation`), with a
 * bounded fallback for lost messages (pub/sub is at-most-once: a replica that was reconnecting misses them):
 * every `pollIntervalMs` the state_version of each workspace with cached KEKs is compared with the one seen
 * when it was cached, and changed workspaces are dropped. A missed shred therefore lingers at most one poll
 * interval, never a full TTL.
 */
export class KekInvalidationBus {
  private readonly origin = randomUUID();
  private readonly channel: string;
  private readonly seenVersions = new Map<string, number>();
  private poller: NodeJS.Timeout | undefined;
  private subscribed = false;
  private readonly listeners = new Set<(e: WorkspaceKeyEvent) => void>();

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
        if (typeof m.t === 'string' && typeof m.w === 'string') {
          this.cache.dropWorkspace(m.t, m.w, m.k === 'shred' ? 'shred' : 'invalidate');
          if (this.listeners.size) this.notify({ tenantId: m.t, workspaceId: m.w, kind: typeof m.k === 'string' ? m.k : 'invalidate' });
        }
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

  /** Remember the state_version a workspace had when its state/KEK was loaded (baseline for the poll). */
  observe(workspaceId: string, stateVersion: number): void {
    const seen = this.seenVersions.get(workspaceId);
    if (seen === undefined || stateVersion > seen) this.seenVersions.set(workspaceId, stateVersion);
  }

  async invalidateWorkspace(tenantId: string, workspaceId: string): Promise<void> {
    await this.broadcast(tenantId, workspaceId, 'invalidate');
  }

  /** Drop the workspace's plaintext KEKs here and on every replica. */
  async shredWorkspace(tenantId: string, workspaceId: string): Promise<void> {
    await this.broadcast(tenantId, workspaceId, 'shred');
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

  private async broadcast(tenantId: string, workspaceId: string, kind: Message['k']): Promise<void> {
    this.seenVersions.delete(workspaceId);
    this.cache.dropWorkspace(tenantId, workspaceId, kind);
    const m: Message = { t: tenantId, w: workspaceId, k: kind, o: this.origin };
    await this.publisher.publish(this.channel, JSON.stringify(m));
  }
}
