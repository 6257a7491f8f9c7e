import type { ServerResponse } from 'node:http';
import type { AccessClaims } from '@app/auth';
import type { WorkspaceKeyEvent } from '@app/kek-cache';
import type { FastifyInstance } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { ApiHandles } from '../handles';

/** What the key-event relay needs from the container. */
export type EventRouteDeps = Pick<ApiHandles, 'kekBus' | 'repos' | 'log' | 'serviceTokens'>;
import { toErrorReply } from './errors';

export const EVENTS_PATH = '/internal/v1/events';

export interface EventStreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream (ms). */
  keepAliveMs: number;
  /** Bytes a connection may have queued unsent; past this the client is too slow and is disconnected. */
  maxBufferedBytes: number;
  /** Open streams per process / per service principal. */
  maxConnections: number;
  maxPerPrincipal: number;
}

export const DEFAULT_EVENT_STREAM: EventStreamOptions = {
  keepAliveMs: 15_000,
  maxBufferedBytes: 64 * 1024,
  maxConnections: 2_000,
  maxPerPrincipal: 16,
};

interface Connection {
  readonly claims: AccessClaims;
  readonly res: ServerResponse;
  readonly timers: NodeJS.Timeout[];
}

/** Event names sent to clients: the bus's message kinds, passed on when they look like one. */
const KIND = /^[a-z][a-z-]{0,31}$/;

/**
 * Relays the KEK invalidation bus to service principals as server-sent events, so their local DEK caches drop a
 * workspace as soon as the server does. A principal hears only of workspaces in its scope (checked against the
 * database when the event arrives, so a scope change or a disabled principal applies at once). Memory per
 * connection is bounded: a client that does not read is disconnected, never buffered for.
 */
export class KeyEventHub {
  private readonly conns = new Set<Connection>();
  private readonly unsubscribe: () => void;
  /**
   * Scope answers for one second: a burst of events (a rotation sweep) costs one query per principal and workspace,
   * not one per event. An event names only a workspace id the principal was scoped to a second ago; no key material.
   */
  private readonly scopeCache = new LRUCache<string, Promise<boolean>>({ max: 10_000, ttl: 1_000 });
  /** Counters for tests and metrics. */
  readonly stats = { sent: 0, slowDisconnects: 0, connections: 0 };

  constructor(
    private readonly s: EventRouteDeps,
    private readonly opts: EventStreamOptions,
  ) {
    this.unsubscribe = s.kekBus.onMessage((e) => this.dispatch(e));
  }

  get size(): number {
    return this.conns.size;
  }

  /** Claims were verified by the caller; the reply was hijacked. */
  open(claims: AccessClaims, res: ServerResponse): void {
    const c: Connection = { claims, res, timers: [] };
    this.conns.add(c);
    this.stats.connections++;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // `ready` tells the client that events from now on reach it (it empties its cache: earlier ones may be lost).
    this.write(c, `retry: 1000\nevent: ready\ndata: {}\n\n`);
    const ka = setInterval(() => this.write(c, ': keep-alive\n\n'), this.opts.keepAliveMs);
    ka.unref();
    // The stream lives no longer than its token: the client reconnects with a fresh one (and is re-authorised).
    const expiry = setTimeout(() => this.end(c), Math.max(0, claims.exp * 1000 - Date.now()));
    expiry.unref();
    c.timers.push(ka, expiry);
    res.on('close', () => this.drop(c));
    res.on('error', () => this.drop(c));
  }

  countFor(sub: string): number {
    let n = 0;
    for (const c of this.conns) if (c.claims.sub === sub) n++;
    return n;
  }

  /** Ends every stream (shutdown; tests use it to simulate a dropped stream). */
  disconnectAll(): void {
    for (const c of [...this.conns]) this.end(c);
  }

  close(): void {
    this.unsubscribe();
    this.disconnectAll();
  }

  private dispatch(e: WorkspaceKeyEvent): void {
    const kind = KIND.test(e.kind) ? e.kind : 'invalidate';
    const data = `event: ${kind}\ndata: ${JSON.stringify({ workspaceId: e.workspaceId, at: new Date().toISOString() })}\n\n`;
    // One scope check per principal, however many of its streams are open.
    const bySub = new Map<string, Connection[]>();
    for (const c of this.conns) {
      if (c.claims.tid !== e.tenantId) continue;
      const list = bySub.get(c.claims.sub);
      if (list) list.push(c);
      else bySub.set(c.claims.sub, [c]);
    }
    for (const [sub, conns] of bySub) {
      void this.inScope(e.tenantId, sub, e.workspaceId).then(
        (inScope) => {
          if (!inScope) return;
          for (const c of conns)
            if (this.conns.has(c)) {
              this.write(c, data);
              this.stats.sent++;
            }
        },
        (err: unknown) => {
          // Scope unknown: send nothing, and end the streams so the clients fall back on their TTL and reconnect.
          this.s.log.warn(
            { err: { message: String((err as Error)?.message ?? err).slice(0, 200) } },
            'key event scope check failed',
          );
          for (const c of conns) this.end(c);
        },
      );
    }
  }

  private inScope(tenantId: string, sub: string, workspaceId: string): Promise<boolean> {
    const key = `${sub}|${workspaceId}`;
    const hit = this.scopeCache.get(key);
    if (hit) return hit;
    const inScope = this.s.repos.servicePrincipals.isInScope(tenantId, sub, workspaceId);
    this.scopeCache.set(key, inScope);
    // a failed check is not remembered
    inScope.catch(() => this.scopeCache.delete(key));
    return inScope;
  }

  private write(c: Connection, chunk: string): void {
    if (c.res.destroyed || c.res.writableEnded) return;
    c.res.write(chunk);
    if (c.res.writableLength > this.opts.maxBufferedBytes) {
      this.stats.slowDisconnects++;
      c.res.destroy();
      this.drop(c);
    }
  }

  private end(c: Connection): void {
    this.drop(c);
    if (!c.res.writableEnded) c.res.end();
    // a half-closed socket must not keep the server from closing
    c.res.socket?.destroySoon?.();
  }

  private drop(c: Connection): void {
    if (!this.conns.delete(c)) return;
    for (const t of c.timers) clearTimeout(t);
  }
}

const hubs = new WeakMap<FastifyInstance, KeyEventHub>();

/** The hub of an app (tests: inspect it, or drop every stream server-side). */
export function keyEventHubOf(fastify: FastifyInstance): KeyEventHub | undefined {
  return hubs.get(fastify);
}

/** `GET /internal/v1/events`: server-sent key events for the calling service principal's workspaces. */
export function registerEventRoutes(
  fastify: FastifyInstance,
  s: EventRouteDeps,
  opts: Partial<EventStreamOptions> = {},
): void {
  const o = { ...DEFAULT_EVENT_STREAM, ...opts };
  const hub = new KeyEventHub(s, o);
  hubs.set(fastify, hub);
  // Before the server stops accepting: open streams would otherwise hold close() forever.
  fastify.addHook('preClose', (done) => {
    hub.close();
    done();
  });
  fastify.get(EVENTS_PATH, async (req, reply) => {
    try {
      const claims = await s.serviceTokens.verifyHeader(req.headers.authorization);
      if (hub.size >= o.maxConnections) {
        return reply
          .status(503)
          .header('retry-after', '5')
          .header('cache-control', 'no-store')
          .send({
            error: { code: 'TOO_MANY_STREAMS', message: 'too many event streams open on this replica; retry later' },
          });
      }
      if (hub.countFor(claims.sub) >= o.maxPerPrincipal) {
        return reply
          .status(429)
          .header('retry-after', '5')
          .header('cache-control', 'no-store')
          .send({
            error: {
              code: 'TOO_MANY_STREAMS',
              message: `at most ${o.maxPerPrincipal} event streams per service principal`,
            },
          });
      }
      reply.hijack();
      hub.open(claims, reply.raw);
    } catch (err) {
      const r = toErrorReply(err);
      if (r.headers) for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
      return reply.status(r.status).header('cache-control', 'no-store').send(r.body);
    }
  });
}
