import type { Transform } from 'node:stream';
import { Agent } from 'undici';
import { DekCache, DekCacheOptions } from './dek-cache';
import {
  assertSegmentId,
  checkAadPresence,
  checkExpectation,
  DekMaterial,
  EnvelopeExpectation,
  EnvelopeHeader,
  EnvelopeParts,
  open,
  readHeader,
  seal,
  sealParts,
  SealIds,
} from './envelope';
import {
  AuthenticationError,
  EnvelopeError,
  KeyholdError,
  KeyholdUnavailableError,
  SegmentDestroyedError,
  WorkspaceDestroyedError,
  WorkspaceShreddedError,
} from './errors';
import { DEFAULT_EVENT_STREAM, EventStreamOptions, EventSubscription, KeyEvent } from './events';
import { backoffMs, DEFAULT_RETRY, parseRetryAfter, RetryPolicy, sleep } from './retry';
import { DecryptTransform, DEFAULT_FRAME_BYTES, EncryptTransform } from './stream';
import { Token, TokenSource } from './token';
import { AccessJustification, checkJustification, justificationHeaders, sameJustification } from './justification';

export interface KeyholdClientOptions {
  /** The API's internal listener (DEK API, key events, service tokens), e.g. `http://keyhold-api-internal:3001`. */
  baseUrl: string;
  /**
   * Mutual TLS to the internal listener (when it runs with KEYHOLD_INTERNAL_TLS_CA): this service's client
   * certificate and key, and the CA of the listener's own certificate (PEM). A key admin may bind the service
   * principal to this certificate, so its secret and tokens are useless without the key.
   */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** The service principal's client id and secret (`POST /v1/tenants/{id}/service-principals`). */
  clientId: string;
  clientSecret: string;
  /** Local DEK cache bounds. `ttlMs` must stay at or under the server's state TTL (default 2 s). */
  cache?: Partial<DekCacheOptions>;
  /** Retries of 503/429/network errors: Retry-After plus full jitter, within a deadline. */
  retry?: Partial<RetryPolicy>;
  /** Subscribe to `GET /internal/v1/events` (default true) and drop cached DEKs of a workspace on its events. */
  events?: boolean | Partial<EventStreamOptions>;
  /** Renew the token this long before it expires (ms). Default: a fifth of its lifetime, at most 60 s. */
  refreshAheadMs?: number;
  /** One HTTP attempt's timeout (ms). Default 5 000. */
  requestTimeoutMs?: number;
  /** Streams: plaintext bytes per frame. Default 64 KiB. */
  frameBytes?: number;
  /** Called for every key event received (after the cache was purged). */
  onEvent?: (e: KeyEvent) => void;
  /** The clock used for token lifetimes (tests). */
  now?: () => number;
  /**
   * The key access justification sent with every DEK request of this client (`Keyhold-Access-Reason` and
   * `-Ticket`), e.g. `{ reason: 'CUSTOMER_INITIATED' }`. A call may give another one; such a call always asks the
   * server (so the tenant's policy and audit see it) and neither reads nor fills the local DEK cache.
   */
  justification?: AccessJustification;
}

export interface EncryptInput {
  workspaceId: string;
  segmentId: string;
  plaintext: Buffer | Uint8Array | string;
  /** Extra data bound to the ciphertext (not stored in it): decrypt needs the same bytes. */
  aad?: Buffer | Uint8Array | string;
  /** This call's key access justification (see KeyholdClientOptions.justification). */
  justification?: AccessJustification;
}

export interface DecryptOptions {
  aad?: Buffer | Uint8Array | string;
  /** Refuse an envelope that is not bound to these ids (recommended: pass what the record claims to be). */
  expect?: Omit<EnvelopeExpectation, 'tenantId'>;
  /** This call's key access justification (see KeyholdClientOptions.justification). */
  justification?: AccessJustification;
}

export interface StreamInput {
  workspaceId: string;
  segmentId: string;
  aad?: Buffer | Uint8Array | string;
  /** This call's key access justification (see KeyholdClientOptions.justification). */
  justification?: AccessJustification;
}

interface DekWire {
  dek: string;
  dekId: string;
  kekVersion: number;
  segmentId?: string;
}

const BATCH_MAX = 1000;
const toBuf = (v: Buffer | Uint8Array | string | undefined): Buffer | undefined =>
  v === undefined
    ? undefined
    : typeof v === 'string'
      ? Buffer.from(v, 'utf8')
      : Buffer.isBuffer(v)
        ? v
        : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * Keyhold for an internal service: DEKs on demand from a bounded, self-purging local cache, and AES-256-GCM
 * envelope encryption in one call. See packages/client/README.md.
 */
export class KeyholdClient {
  private readonly base: string;
  private readonly tokens: TokenSource;
  private readonly cache: DekCache;
  private readonly retry: RetryPolicy;
  private readonly inflight = new Map<string, Promise<DekMaterial>>();
  private readonly events: EventSubscription | undefined;
  private readonly timeoutMs: number;
  private readonly frameBytes: number;
  /** Connections with the client certificate (`tls`); undefined = the platform's default fetch. */
  private readonly dispatcher: Agent | undefined;
  private readyWaiters: Array<() => void> = [];
  /** Retry waits per workspace: an event about the workspace ends them, so the next attempt sees the new state. */
  private readonly waits = new Map<string, Set<AbortController>>();
  private closed = false;
  /** Counters for tests and dashboards. */
  readonly stats = {
    fetches: 0,
    batchFetches: 0,
    cacheHits: 0,
    tokenFetches: 0,
    retries: 0,
    reauthentications: 0,
    purges: 0,
    events: 0,
    streamConnects: 0,
  };

  constructor(private readonly opts: KeyholdClientOptions) {
    if (!opts.baseUrl || !opts.clientId || !opts.clientSecret)
      throw new KeyholdError('baseUrl, clientId and clientSecret are required', 'INVALID_ARGUMENT');
    checkJustification(opts.justification);
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.timeoutMs = opts.requestTimeoutMs ?? 5_000;
    this.frameBytes = opts.frameBytes ?? DEFAULT_FRAME_BYTES;
    this.cache = new DekCache(opts.cache);
    this.dispatcher = opts.tls
      ? new Agent({ connect: { cert: opts.tls.cert, key: opts.tls.key, ...(opts.tls.ca ? { ca: opts.tls.ca } : {}) } })
      : undefined;
    const ahead = opts.refreshAheadMs;
    this.tokens = new TokenSource(
      { clientId: opts.clientId, clientSecret: opts.clientSecret },
      (c) => this.fetchToken(c.clientId, c.clientSecret),
      ahead === undefined ? undefined : () => ahead,
      opts.now,
    );
    if (opts.events !== false) {
      this.events = new EventSubscription(
        {
          open: (signal) => this.openEvents(signal),
          onEvent: (e) => {
            this.stats.events++;
            this.purgeWorkspace(e.workspaceId);
            opts.onEvent?.(e);
          },
          onConnected: () => {
            this.stats.streamConnects++;
            // Events sent while we were not listening are lost: start from an empty cache.
            this.cache.clear();
            for (const w of this.readyWaiters.splice(0)) w();
          },
          onDisconnected: () => undefined,
        },
        { ...DEFAULT_EVENT_STREAM, ...(typeof opts.events === 'object' ? opts.events : {}) },
      );
      this.events.start();
    }
  }

  /** Resolves once the event stream is connected (immediately when events are off). */
  ready(timeoutMs = 10_000): Promise<void> {
    if (!this.events || this.events.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new KeyholdUnavailableError('event stream not connected in time', 'EVENTS_UNAVAILABLE')),
        timeoutMs,
      );
      this.readyWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Whether the shred-event stream is currently connected. */
  get eventsConnected(): boolean {
    return this.events?.connected ?? false;
  }

  /** DEKs and bytes currently cached. */
  cacheSize(): { entries: number; bytes: number } {
    return { entries: this.cache.size, bytes: this.cache.bytes };
  }

  /** A copy of a segment's DEK (the caller owns it and should zero it when done). */
  async getDek(workspaceId: string, segmentId: string, justification?: AccessJustification): Promise<DekMaterial> {
    if (this.ownJustification(justification)) {
      const d = await this.fetchDek(workspaceId, segmentId, justification);
      return { key: Buffer.from(d.key), dekId: d.dekId, kekVersion: d.kekVersion };
    }
    const d = this.cache.get(workspaceId, segmentId) ?? (await this.fetchDek(workspaceId, segmentId));
    return { key: Buffer.from(d.key), dekId: d.dekId, kekVersion: d.kekVersion };
  }

  /**
   * Loads many segments' DEKs in batch requests (up to 1000 each), skipping those already cached. The cache serves
   * the client's own justification, so a prefetch is made under it (KeyholdClientOptions.justification).
   */
  async prefetch(workspaceId: string, segmentIds: readonly string[]): Promise<void> {
    const missing = [...new Set(segmentIds)].filter((s) => !this.cache.get(workspaceId, s));
    for (const s of missing) assertSegmentId(s);
    for (let i = 0; i < missing.length; i += BATCH_MAX) {
      const ids = missing.slice(i, i + BATCH_MAX);
      const epoch = this.cache.epoch(workspaceId);
      this.stats.batchFetches++;
      const body = await this.call<{ deks: DekWire[] }>(
        'POST',
        `/internal/v1/workspaces/${encodeURIComponent(workspaceId)}/deks:batchGet`,
        workspaceId,
        undefined,
        { segmentIds: ids },
        this.opts.justification,
      );
      for (const d of body.deks)
        if (typeof d.segmentId === 'string') this.cache.set(workspaceId, d.segmentId, material(d), epoch);
    }
  }

  /** Seals `plaintext` for (workspace, segment): one self-describing Buffer (docs/ENVELOPE.md). */
  async encrypt(input: EncryptInput): Promise<Buffer> {
    return this.sealWith(input, seal);
  }

  /**
   * `encrypt` as its parts, header, ciphertext and tag, for a caller that writes them out (a socket, a file, a driver
   * taking several buffers) and so needs no joined copy: `Buffer.concat([header, body, tag])` is what `encrypt` returns.
   */
  async encryptParts(input: EncryptInput): Promise<EnvelopeParts> {
    return this.sealWith(input, sealParts);
  }

  /** Seals with `sealer`, the DEK from the cache or the server. */
  private async sealWith<T>(
    input: EncryptInput,
    sealer: (ids: SealIds, dek: DekMaterial, plaintext: Buffer, aad?: Buffer) => T,
  ): Promise<T> {
    const { workspaceId, segmentId } = input;
    assertSegmentId(segmentId);
    const plaintext = toBuf(input.plaintext);
    if (!plaintext) throw new KeyholdError('plaintext is required', 'INVALID_ARGUMENT');
    const aad = toBuf(input.aad);
    const tenantId = (await this.tokens.get()).tenantId;
    if (this.ownJustification(input.justification)) {
      const d = await this.fetchDek(workspaceId, segmentId, input.justification);
      return sealer({ tenantId, workspaceId, segmentId }, d, plaintext, aad);
    }
    // The cached key is used synchronously right after the lookup: nothing can evict (and zero) it in between.
    const hit = this.cache.get(workspaceId, segmentId);
    if (hit) {
      this.stats.cacheHits++;
      return sealer({ tenantId, workspaceId, segmentId }, hit, plaintext, aad);
    }
    const d = await this.fetchDek(workspaceId, segmentId);
    return sealer({ tenantId, workspaceId, segmentId }, d, plaintext, aad);
  }

  /** Opens an envelope: ids from its header, the DEK from the cache or the server, AES-GCM verified. */
  async decrypt(blob: Buffer, options: DecryptOptions = {}): Promise<Buffer> {
    const { header, length } = readHeader(blob);
    const aad = toBuf(options.aad);
    checkAadPresence(header, aad);
    const key = await this.keyFor(header, options.expect, options.justification);
    return open(blob, header, length, key, aad);
  }

  /** An encrypting Transform: pipe plaintext in, get one framed envelope out. */
  encryptStream(input: StreamInput): Transform {
    assertSegmentId(input.segmentId);
    const aad = toBuf(input.aad);
    return new EncryptTransform(
      { workspaceId: input.workspaceId, segmentId: input.segmentId },
      // getDek hands out a private copy, which the stream zeroes when it ends
      async () => ({
        tenantId: (await this.tokens.get()).tenantId,
        dek: await this.getDek(input.workspaceId, input.segmentId, input.justification),
      }),
      aad,
      this.frameBytes,
    );
  }

  /** A decrypting Transform: pipe a framed envelope in, get verified plaintext out (errors on any tampering). */
  decryptStream(options: DecryptOptions = {}): Transform {
    return new DecryptTransform(
      async (h) => Buffer.from(await this.keyFor(h, options.expect, options.justification)),
      toBuf(options.aad),
    );
  }

  /** Drops (and zeroes) every cached DEK of a workspace. */
  purgeWorkspace(workspaceId: string): void {
    this.stats.purges++;
    this.cache.purgeWorkspace(workspaceId);
    // A request waiting to retry (say, a 503 while the key was being revoked) asks again now, not after Retry-After.
    for (const ac of this.waits.get(workspaceId.toLowerCase()) ?? []) ac.abort();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.events?.stop();
    this.cache.clear();
    await this.dispatcher?.close();
  }

  /** fetch over this client's connections (with its client certificate when `tls` is set). */
  private fetch(url: string, init: RequestInit): Promise<Response> {
    // Node's fetch takes an undici dispatcher (non-standard member of its RequestInit).
    return fetch(url, this.dispatcher ? { ...init, dispatcher: this.dispatcher } : init);
  }

  private async keyFor(
    header: EnvelopeHeader,
    expect: DecryptOptions['expect'],
    justification?: AccessJustification,
  ): Promise<Buffer> {
    const token = await this.tokens.get();
    checkExpectation(header, { ...expect, tenantId: token.tenantId });
    if (this.ownJustification(justification)) {
      const d = await this.fetchDek(header.workspaceId, header.segmentId, justification);
      if (d.dekId !== header.dekId)
        throw new EnvelopeError('the envelope names another DEK than the segment has', 'ENVELOPE_DEK_MISMATCH');
      return d.key;
    }
    const hit = this.cache.get(header.workspaceId, header.segmentId);
    const d = hit ?? (await this.fetchDek(header.workspaceId, header.segmentId));
    if (hit) this.stats.cacheHits++;
    if (d.dekId !== header.dekId)
      throw new EnvelopeError('the envelope names another DEK than the segment has', 'ENVELOPE_DEK_MISMATCH');
    return d.key;
  }

  /**
   * Whether a call's justification differs from the client's: then the DEK comes from the server under that
   * justification and bypasses the cache (a DEK cached for one reason must never serve another: the tenant's policy
   * and audit would not see the use). Checks the justification.
   */
  private ownJustification(j: AccessJustification | undefined): j is AccessJustification {
    if (j === undefined || sameJustification(j, this.opts.justification)) return false;
    checkJustification(j);
    return true;
  }

  /**
   * Single flight per (workspace, segment): concurrent misses share one request. With its own justification, one
   * uncached request (no sharing across reasons).
   */
  private fetchDek(workspaceId: string, segmentId: string, own?: AccessJustification): Promise<DekMaterial> {
    assertSegmentId(segmentId);
    if (own) {
      this.stats.fetches++;
      const path = `/internal/v1/workspaces/${encodeURIComponent(workspaceId)}/segments/${encodeURIComponent(segmentId)}/dek`;
      return this.call<DekWire>('GET', path, workspaceId, segmentId, undefined, own).then(material);
    }
    const k = DekCache.key(workspaceId, segmentId);
    let p = this.inflight.get(k);
    if (!p) {
      const epoch = this.cache.epoch(workspaceId);
      p = (async () => {
        try {
          this.stats.fetches++;
          const w = await this.call<DekWire>(
            'GET',
            `/internal/v1/workspaces/${encodeURIComponent(workspaceId)}/segments/${encodeURIComponent(segmentId)}/dek`,
            workspaceId,
            segmentId,
            undefined,
            this.opts.justification,
          );
          const d = material(w);
          // The cache owns a copy (zeroed when it leaves); waiters keep the fetched buffer, never zeroed under them.
          this.cache.set(workspaceId, segmentId, { ...d, key: Buffer.from(d.key) }, epoch);
          return d;
        } finally {
          this.inflight.delete(k);
        }
      })();
      this.inflight.set(k, p);
    }
    return p;
  }

  /** One authenticated JSON call with the retry, re-authentication and 410 rules. */
  private async call<T>(
    method: string,
    path: string,
    workspaceId: string,
    segmentId?: string,
    body?: unknown,
    justification?: AccessJustification,
  ): Promise<T> {
    const extra = justificationHeaders(justification);
    const deadline = Date.now() + this.retry.deadlineMs;
    let reauthenticated = false;
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.get();
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.fetch(this.base + path, {
          method,
          headers: {
            authorization: `Bearer ${token.accessToken}`,
            ...extra,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.timeoutMs, deadline - Date.now()))),
        });
      } catch (err) {
        failure = err;
      }
      if (res && res.status === 200) return (await res.json()) as T;
      const error = res ? await errorBody(res) : undefined;
      if (res?.status === 401) {
        this.tokens.invalidate(token.accessToken);
        if (!reauthenticated) {
          reauthenticated = true;
          this.stats.reauthentications++;
          continue;
        }
        throw new AuthenticationError(
          error?.message ?? 'the server refused the token',
          error?.code ?? 'UNAUTHENTICATED',
          401,
        );
      }
      if (res?.status === 410) {
        this.purgeWorkspace(workspaceId);
        throw goneError(workspaceId, segmentId, error);
      }
      if (res && res.status !== 503 && res.status !== 429)
        throw new KeyholdError(error?.message ?? `HTTP ${res.status}`, error?.code ?? `HTTP_${res.status}`, res.status);
      const wait = backoffMs(this.retry, attempt, res ? parseRetryAfter(res.headers.get('retry-after')) : undefined);
      if (Date.now() + wait >= deadline)
        throw new KeyholdUnavailableError(
          res
            ? `${error?.message ?? `HTTP ${res.status}`} (gave up after ${attempt + 1} attempts)`
            : `Keyhold unreachable: ${String((failure as Error)?.message ?? failure)}`,
          error?.code ?? (res ? `HTTP_${res.status}` : 'UNREACHABLE'),
          res?.status,
        );
      this.stats.retries++;
      await this.waitFor(workspaceId, wait);
    }
  }

  private async waitFor(workspaceId: string, ms: number): Promise<void> {
    const ws = workspaceId.toLowerCase();
    const ac = new AbortController();
    let set = this.waits.get(ws);
    if (!set) this.waits.set(ws, (set = new Set()));
    set.add(ac);
    try {
      await sleep(ms, ac.signal);
    } finally {
      set.delete(ac);
      if (set.size === 0) this.waits.delete(ws);
    }
  }

  private async fetchToken(
    clientId: string,
    clientSecret: string,
  ): Promise<{ accessToken: string; expiresInSeconds: number }> {
    const deadline = Date.now() + this.retry.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      let failure: unknown;
      try {
        this.stats.tokenFetches++;
        res = await this.fetch(`${this.base}/v1/auth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.timeoutMs, deadline - Date.now()))),
        });
      } catch (err) {
        failure = err;
      }
      if (res?.status === 200) {
        const b = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
        if (typeof b.access_token !== 'string' || typeof b.expires_in !== 'number')
          throw new AuthenticationError('malformed token response', 'BAD_TOKEN');
        return { accessToken: b.access_token, expiresInSeconds: b.expires_in };
      }
      const error = res ? await errorBody(res) : undefined;
      if (res && res.status !== 503 && res.status !== 429)
        throw new AuthenticationError(
          error?.message ?? `token endpoint answered HTTP ${res.status}`,
          error?.code ?? 'UNAUTHENTICATED',
          res.status,
        );
      const wait = backoffMs(this.retry, attempt, res ? parseRetryAfter(res.headers.get('retry-after')) : undefined);
      if (Date.now() + wait >= deadline)
        throw new KeyholdUnavailableError(
          `token endpoint unavailable: ${error?.message ?? String((failure as Error)?.message ?? failure)}`,
          error?.code ?? 'UNREACHABLE',
          res?.status,
        );
      this.stats.retries++;
      await sleep(wait);
    }
  }

  private async openEvents(signal: AbortSignal): Promise<Response> {
    let token: Token = await this.tokens.get();
    let res = await this.fetch(`${this.base}/internal/v1/events`, {
      headers: { authorization: `Bearer ${token.accessToken}`, accept: 'text/event-stream' },
      signal,
    });
    if (res.status === 401) {
      await res.body?.cancel().catch(() => undefined);
      this.tokens.invalidate(token.accessToken);
      token = await this.tokens.get();
      res = await this.fetch(`${this.base}/internal/v1/events`, {
        headers: { authorization: `Bearer ${token.accessToken}`, accept: 'text/event-stream' },
        signal,
      });
    }
    return res;
  }
}

function material(w: DekWire): DekMaterial {
  if (typeof w.dek !== 'string' || typeof w.dekId !== 'string' || typeof w.kekVersion !== 'number')
    throw new KeyholdError('malformed DEK response', 'BAD_RESPONSE');
  const key = Buffer.from(w.dek, 'base64');
  if (key.length !== 32) throw new KeyholdError('the server returned a DEK that is not 32 bytes', 'BAD_RESPONSE');
  return { key, dekId: w.dekId.toLowerCase(), kekVersion: w.kekVersion };
}

async function errorBody(res: Response): Promise<{ code?: string; message?: string } | undefined> {
  try {
    const b = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    return {
      code: typeof b.error?.code === 'string' ? b.error.code : undefined,
      message: typeof b.error?.message === 'string' ? b.error.message : undefined,
    };
  } catch {
    return undefined;
  }
}

function goneError(
  workspaceId: string,
  segmentId: string | undefined,
  e: { code?: string; message?: string } | undefined,
): WorkspaceShreddedError {
  switch (e?.code) {
    case 'WORKSPACE_DESTROYED':
      return new WorkspaceDestroyedError(workspaceId, e.message);
    case 'SEGMENT_DESTROYED':
      return new SegmentDestroyedError(workspaceId, segmentId, e.message);
    case 'WORKSPACE_SHREDDED':
      return new WorkspaceShreddedError(workspaceId, e.message);
    default:
      return new WorkspaceShreddedError(workspaceId, e?.message ?? 'the workspace keys are gone', e?.code ?? 'GONE');
  }
}

export type { KeyEvent };
