import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import Redis from 'ioredis';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { keyEventHubOf } from '../../apps/api/src/http/event-routes';
import {
  EnvelopeError,
  KeyholdClient,
  KeyholdUnavailableError,
  readHeader,
  WorkspaceShreddedError,
} from '../../packages/client/src';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startStack, TestStack } from '../support/stack';
import { privateDatabase } from '../support/db';
import { startTestWorker } from '../support/worker';
import { cleanRedis, revokeAndShred, serviceTenant, waitFor, watchShreds } from './fixture';

/**
 * @keyhold/client against the real thing: the API on an ephemeral port, the worker on the same Redis prefix
 * (it shreds), the AWS emulator spoken to by the real SDK, faults injected at the emulator, and the event
 * stream dropped server-side.
 */
let stack: TestStack;
let worker: RunningWorker;
const clients: KeyholdClient[] = [];
const track = (c: KeyholdClient) => (clients.push(c), c);

let db: Awaited<ReturnType<typeof privateDatabase>>;

beforeAll(async () => {
  // A database of its own: the worker's probes are platform-wide (see test/support/db.ts privateDatabase).
  db = await privateDatabase();
  stack = await startStack({
    config: {
      databaseUrl: db.url,
      probeConfirmationWindowSeconds: 2,
      probeConfirmations: 3,
      retryAfterSeconds: 1,
      logLevel: 'info',
    },
  });
  worker = await startTestWorker(
    { ...stack.config, logLevel: 'silent' },
    { schedulers: false, settings: { reconcileStaleMs: 3_600_000 } },
  );
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await worker?.close();
  await stack?.close();
  if (stack) await cleanRedis(stack);
  await db?.drop();
});
afterEach(() => stack.emulators.faults.clear());

// The event stream is served on the internal listener.
const fastify = (): FastifyInstance => stack.api.internal;

describe('envelope encryption through the client', () => {
  it('encrypts and decrypts in one call; the header names tenant, workspace, segment, DEK and KEK version', async () => {
    const t = await serviceTenant(stack);
    const c = track(t.client());
    const plaintext = Buffer.from('card 4111 1111 1111 1111');
    const blob = await c.encrypt({ workspaceId: t.wsId, segmentId: 'cards', plaintext, aad: 'record-1' });
    const { header } = readHeader(blob);
    const dek = await stack.http.get(
      `/internal/v1/workspaces/${t.wsId}/segments/cards/dek`,
      (
        await stack.http.post('/v1/auth/token', {
          grant_type: 'client_credentials',
          client_id: t.clientId,
          client_secret: t.clientSecret,
        })
      ).body.access_token,
    );
    expect(header).toMatchObject({
      tenantId: t.tenant.id,
      workspaceId: t.wsId,
      segmentId: 'cards',
      dekId: dek.body.dekId,
      kekVersion: dek.body.kekVersion,
    });
    expect(blob.includes(plaintext)).toBe(false);
    expect(await c.decrypt(blob, { aad: 'record-1', expect: { workspaceId: t.wsId, segmentId: 'cards' } })).toEqual(
      plaintext,
    );
    // a fresh client (cold cache) reads it from the header alone
    const cold = track(t.client({ events: false }));
    expect(await cold.decrypt(blob, { aad: 'record-1' })).toEqual(plaintext);
    await expect(cold.decrypt(blob, { aad: 'record-2' })).rejects.toThrow(EnvelopeError);
    await expect(cold.decrypt(blob, { aad: 'record-1', expect: { segmentId: 'other' } })).rejects.toThrow(
      /another segment/,
    );
    await expect(cold.decrypt(blob, { aad: 'record-1', expect: { workspaceId: randomUUID() } })).rejects.toThrow(
      /another workspace/,
    );
  });

  it("encryptParts: header, ciphertext and tag that, written out together, decrypt like encrypt's envelope", async () => {
    const t = await serviceTenant(stack);
    const c = track(t.client({ events: false }));
    const plaintext = Buffer.alloc(300_000, 7);
    const parts = await c.encryptParts({ workspaceId: t.wsId, segmentId: 'parts', plaintext, aad: 'r' });
    expect(parts.body.length).toBe(plaintext.length);
    const blob = Buffer.concat([parts.header, parts.body, parts.tag]);
    expect(readHeader(blob).header).toMatchObject({ tenantId: t.tenant.id, workspaceId: t.wsId, segmentId: 'parts' });
    expect(
      await track(t.client({ events: false })).decrypt(blob, {
        aad: 'r',
        expect: { workspaceId: t.wsId, segmentId: 'parts' },
      }),
    ).toEqual(plaintext);
    await expect(c.decrypt(blob, { aad: 'x' })).rejects.toThrow(EnvelopeError);
  });

  it('another tenant cannot open the envelope, even knowing every id in it', async () => {
    const a = await serviceTenant(stack);
    const b = await serviceTenant(stack);
    const blob = await track(a.client({ events: false })).encrypt({
      workspaceId: a.wsId,
      segmentId: 's',
      plaintext: 'x',
    });
    await expect(track(b.client({ events: false })).decrypt(blob)).rejects.toThrow(/another tenant/);
  });

  it('streams a payload in 64 KiB frames and back; a tampered stream fails', async () => {
    const t = await serviceTenant(stack);
    const c = track(t.client({ events: false }));
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const out: Buffer[] = [];
    const enc = c.encryptStream({ workspaceId: t.wsId, segmentId: 'blobs', aad: 'file-9' });
    enc.on('data', (b: Buffer) => out.push(b));
    await pipeline(Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]), enc);
    const blob = Buffer.concat(out);
    const back: Buffer[] = [];
    const dec = c.decryptStream({ aad: 'file-9', expect: { workspaceId: t.wsId } });
    dec.on('data', (b: Buffer) => back.push(b));
    await pipeline(Readable.from([blob]), dec);
    expect(Buffer.concat(back).equals(data)).toBe(true);
    const cut = c.decryptStream({ aad: 'file-9' });
    cut.resume();
    await expect(pipeline(Readable.from([blob.subarray(0, blob.length - 70_000)]), cut)).rejects.toThrow(
      /no final frame/,
    );
  });
});

describe('DEK cache', () => {
  it('prefetches in batches, then serves encrypts without a request; concurrent misses share one fetch', async () => {
    const t = await serviceTenant(stack);
    const c = track(t.client({ events: false, cache: { ttlMs: 60_000 } }));
    const segs = Array.from({ length: 1500 }, (_, i) => `p-${i}`);
    await c.prefetch(t.wsId, segs);
    expect(c.stats.batchFetches).toBe(2);
    expect(c.cacheSize().entries).toBe(1500);
    for (const s of segs.slice(0, 200)) await c.encrypt({ workspaceId: t.wsId, segmentId: s, plaintext: 'v' });
    expect(c.stats.fetches).toBe(0);
    await Promise.all(
      Array.from({ length: 25 }, () => c.encrypt({ workspaceId: t.wsId, segmentId: 'fresh', plaintext: 'v' })),
    );
    expect(c.stats.fetches).toBe(1);
  });
});

describe('shred propagation', () => {
  it('a server-side shred makes the client refuse within 2 s through the event stream (not the TTL)', async () => {
    const t = await serviceTenant(stack);
    const watch = await watchShreds(stack);
    // TTL far above the bound: only the event can make the client notice this fast.
    const c = track(t.client({ cache: { ttlMs: 60_000 } }));
    await c.ready();
    const blob = await c.encrypt({ workspaceId: t.wsId, segmentId: 'r', plaintext: 'secret' });
    let refusedAt = 0;
    let eventAt = 0;
    const prober = (async () => {
      for (;;) {
        try {
          await c.encrypt({ workspaceId: t.wsId, segmentId: 'r', plaintext: 'still?' });
        } catch (err) {
          expect(err).toBeInstanceOf(WorkspaceShreddedError);
          refusedAt = Date.now();
          return;
        }
        if (c.stats.events > 0 && !eventAt) eventAt = Date.now();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await revokeAndShred(stack, t);
      await prober;
      const shreddedAt = watch.at(t.wsId)!;
      expect(shreddedAt).toBeDefined();
      const ms = refusedAt - shreddedAt;
      console.log(`client.shred_propagation_ms=${ms} (server shred broadcast -> client refuses)`);
      expect(ms).toBeLessThan(2_000);
      expect(c.stats.events).toBeGreaterThanOrEqual(1);
      // already-encrypted data is unreadable too
      await expect(c.decrypt(blob)).rejects.toThrow(WorkspaceShreddedError);
    } finally {
      watch.close();
    }
  }, 45_000);

  it('events are scoped: another principal of another tenant hears nothing', async () => {
    const a = await serviceTenant(stack);
    const b = await serviceTenant(stack);
    const cb = track(b.client({ cache: { ttlMs: 60_000 } }));
    await cb.ready();
    await cb.encrypt({ workspaceId: b.wsId, segmentId: 's', plaintext: 'x' });
    await revokeAndShred(stack, a);
    await new Promise((r) => setTimeout(r, 300));
    expect(cb.stats.events).toBe(0);
    expect(cb.cacheSize().entries).toBe(1);
  }, 45_000);

  it('with the stream dropped server-side (and kept down), the cache TTL bounds how long a shred goes unnoticed', async () => {
    const t = await serviceTenant(stack);
    const ttlMs = 1_500;
    const c = track(
      t.client({ cache: { ttlMs }, retry: { capMs: 200 }, events: { minBackoffMs: 120_000, maxBackoffMs: 120_000 } }),
    );
    await c.ready();
    await c.encrypt({ workspaceId: t.wsId, segmentId: 'r', plaintext: 'x' });
    keyEventHubOf(fastify())!.disconnectAll();
    await waitFor(() => !c.eventsConnected);
    const watch = await watchShreds(stack);
    try {
      // The service keeps working throughout, so the cached entry is as fresh as it can be when the shred lands.
      let refusedAt = 0;
      const prober = (async () => {
        for (;;) {
          try {
            await c.encrypt({ workspaceId: t.wsId, segmentId: 'r', plaintext: 'x' });
          } catch (err) {
            expect(err).toBeInstanceOf(WorkspaceShreddedError);
            refusedAt = Date.now();
            return;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await revokeAndShred(stack, t);
      await prober;
      const shreddedAt = watch.at(t.wsId)!;
      expect(c.stats.events).toBe(0);
      console.log(
        `stream down: client refused ${refusedAt - shreddedAt} ms after the shred (TTL ${ttlMs} ms, ${c.stats.retries} retries)`,
      );
      // The bound without events: one TTL, plus one retry wait if a refetch met a 503 while the key was being
      // revoked (Retry-After 1 s here, jitter ≤ 200 ms), plus scheduling slack.
      expect(refusedAt - shreddedAt).toBeLessThanOrEqual(ttlMs + 1_000 + 200 + 500);
    } finally {
      watch.close();
    }
  }, 45_000);

  it('the event stream wants a service token: none, a bad one or an admin token get a 401 error body', async () => {
    const t = await serviceTenant(stack);
    for (const token of [undefined, 'garbage', t.token]) {
      const r = await stack.http.get('/internal/v1/events', token);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('a client that stops reading is disconnected once 64 KiB are queued for it: memory per stream stays bounded', async () => {
    const t = await serviceTenant(stack);
    const token = (
      await stack.http.post('/v1/auth/token', {
        grant_type: 'client_credentials',
        client_id: t.clientId,
        client_secret: t.clientSecret,
      })
    ).body.access_token as string;
    const hub = keyEventHubOf(fastify())!;
    const before = { size: hub.size, slow: hub.stats.slowDisconnects };
    const { hostname, port } = new URL(stack.internalUrl);
    const sock = connect(Number(port), hostname);
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => undefined);
    let head = '';
    sock.on('data', (d: Buffer) => (head += d.toString('latin1').slice(0, 200)));
    sock.write(`GET /internal/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    await waitFor(() => hub.size > before.size).catch(() => {
      throw new Error(`stream not opened: ${head}`);
    });
    sock.pause(); // never read again
    const pub = new Redis(stack.config.redisUrl);
    try {
      const message = JSON.stringify({ t: t.tenant.id, w: t.wsId, k: 'invalidate', o: 'test' });
      for (let sent = 0; sent < 60_000 && hub.stats.slowDisconnects === before.slow; sent += 2_000) {
        const p = pub.pipeline();
        for (let i = 0; i < 2_000; i++) p.publish(`${stack.config.redisPrefix}:kek-invalidation`, message);
        await p.exec();
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitFor(() => hub.stats.slowDisconnects > before.slow, 20_000);
      // Reading again drains what the kernel still held, then meets the end: the server really closed the
      // connection (a paused socket may never see the FIN queued behind unread bytes).
      sock.resume();
      await waitFor(() => closed, 5_000);
      expect(hub.size).toBe(before.size);
    } finally {
      pub.disconnect();
      sock.destroy();
    }
  }, 60_000);

  it('a client reconnects after the server drops its stream, and starts from an empty cache', async () => {
    const t = await serviceTenant(stack);
    const c = track(t.client({ cache: { ttlMs: 60_000 }, events: { minBackoffMs: 50, maxBackoffMs: 200 } }));
    await c.ready();
    await c.encrypt({ workspaceId: t.wsId, segmentId: 'r', plaintext: 'x' });
    const connects = c.stats.streamConnects;
    keyEventHubOf(fastify())!.disconnectAll();
    await waitFor(() => c.stats.streamConnects > connects, 5_000);
    expect(c.cacheSize().entries).toBe(0);
  });
});

describe('faults', () => {
  it('a 503 storm (KMS 5xx with a cold cache) is ridden out honouring Retry-After, within the deadline', async () => {
    const t = await serviceTenant(stack);
    const c = track(t.client({ events: false, retry: { deadlineMs: 15_000 } }));
    stack.api.services.kekCache.clear();
    stack.emulators.faults.add({ cloud: 'aws', operation: 'Decrypt', keyId: t.keyId, kind: 'error' });
    const started = Date.now();
    setTimeout(() => stack.emulators.faults.clear(), 2_500).unref();
    const blob = await c.encrypt({ workspaceId: t.wsId, segmentId: 'storm', plaintext: 'x' });
    const took = Date.now() - started;
    expect(blob.length).toBeGreaterThan(0);
    expect(c.stats.retries).toBeGreaterThanOrEqual(2);
    // Retry-After is 1 s: three attempts cannot have fitted in under 2 s
    expect(took).toBeGreaterThanOrEqual(2_000);
  }, 30_000);

  it('a storm that outlasts the deadline fails with KeyholdUnavailableError, not later than the deadline', async () => {
    const t = await serviceTenant(stack);
    const c = track(t.client({ events: false, retry: { deadlineMs: 3_000 } }));
    stack.api.services.kekCache.clear();
    stack.emulators.faults.add({ cloud: 'aws', operation: 'Decrypt', keyId: t.keyId, kind: 'throttle' });
    const started = Date.now();
    const err = await c.encrypt({ workspaceId: t.wsId, segmentId: 'storm', plaintext: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyholdUnavailableError);
    expect((err as KeyholdUnavailableError).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(c.stats.retries).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('wrong credentials fail at once with AuthenticationError', async () => {
    const t = await serviceTenant(stack);
    const c = track(
      new KeyholdClient({ baseUrl: stack.internalUrl, clientId: t.clientId, clientSecret: 'wrong', events: false }),
    );
    await expect(c.encrypt({ workspaceId: t.wsId, segmentId: 's', plaintext: 'x' })).rejects.toMatchObject({
      name: 'AuthenticationError',
      status: 401,
    });
  });
});
