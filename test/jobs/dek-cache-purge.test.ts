import { createReadStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeHeapSnapshot } from 'node:v8';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { ApiApp } from '../../apps/api/src/app';
import { discardLogs, startApi } from '../../stack';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { awsBoundWorkspace, cleanRedisPrefix, HttpClient, startStack, TestStack } from '../support/stack';
import { privateDatabase } from '../support/db';
import { startTestWorker } from '../support/worker';

/**
 * Plaintext DEKs are cached with their KEK's lifetime (docs/ARCHITECTURE.md, caches). Against the real product —
 * two API replicas, the worker, the AWS emulator — every event that drops a KEK must leave no plaintext DEK of that
 * workspace in either replica: shred (customer revoked), workspace destroy, segment destroy (that DEK only), KEK
 * rotation with retirement of the old version, and a shred whose pub/sub message one replica never heard (the
 * generation poll purges it). Checked through the cache's test-only inspection (entries, and a scan of the DEK slab's
 * memory for the key bytes and their base64), then by scanning a heap snapshot of this process — which runs both
 * replicas — for every text form of every purged key.
 */
const POLL_MS = 1_000;
let stack: TestStack;
let replica: ApiApp;
let worker: RunningWorker;
let db: Awaited<ReturnType<typeof privateDatabase>>;

beforeAll(async () => {
  db = await privateDatabase();
  stack = await startStack({
    config: {
      databaseUrl: db.url,
      probeIntervalSeconds: 1,
      probeConfirmationWindowSeconds: 1,
      probeConfirmations: 2,
      kekCachePollIntervalMs: POLL_MS,
    },
  });
  replica = await startApi(stack.config, { logDestination: discardLogs() });
  worker = await startTestWorker({ ...stack.config, logLevel: 'silent' });
}, 60_000);
afterAll(async () => {
  await worker?.close();
  await replica?.close();
  if (stack) await cleanRedisPrefix(stack);
  await stack?.close();
  await db?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitUntil(what: string, cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

type Bound = Awaited<ReturnType<typeof awsBoundWorkspace>>;
const replicas = () => [stack.api, replica];
const deksOf = (app: ApiApp, wsId: string) => app.services.kekCache.inspectPlaintext().deks(wsId);

/** Every form a leaked key could take in memory: raw bytes, and the base64, base64url and hex texts of them. */
function forms(b64: string): Buffer[] {
  const raw = Buffer.from(b64, 'base64');
  return [
    raw,
    Buffer.from(b64, 'latin1'),
    Buffer.from(raw.toString('base64url'), 'latin1'),
    Buffer.from(raw.toString('hex'), 'latin1'),
  ];
}

/** Purged keys, held only as Buffers (their contents are outside the V8 heap, so they cannot hide in the snapshot). */
const purged: Buffer[][] = [];

/**
 * Fetches segments of the workspace through both replicas (single GETs twice, so the second is a cache hit, and one
 * batch), asserts they are cached as plaintext there, and returns the keys' forms.
 */
async function warm(w: Bound, segments: string[]): Promise<Map<string, Buffer[]>> {
  const keys = new Map<string, Buffer[]>();
  for (const app of replicas()) {
    const http = new HttpClient(app.url, app.internalUrl);
    for (const s of segments.slice(1)) {
      for (let i = 0; i < 2; i++) {
        const r = await http.get(w.dekPath(s), w.svc);
        expect(r.status).toBe(200);
        keys.set(s, forms(r.body.dek));
      }
    }
    const b = await http.post(w.batchPath, { segmentIds: segments }, w.svc);
    expect(b.status).toBe(200);
    for (const d of b.body.deks) keys.set(d.segmentId, forms(d.dek));
  }
  for (const app of replicas()) {
    expect(deksOf(app, w.wsId)).toBe(segments.length);
    for (const [, f] of keys) expect(app.services.kekCache.inspectPlaintext().contains(f[1])).toBe(true); // positive control
  }
  return keys;
}

async function expectPurged(w: Bound, keys: Iterable<Buffer[]>, within = 5_000): Promise<void> {
  for (const app of replicas()) await waitUntil(`no cached DEK of ${w.wsId}`, () => deksOf(app, w.wsId) === 0, within);
  for (const f of keys) {
    for (const app of replicas())
      for (const form of f) expect(app.services.kekCache.inspectPlaintext().contains(form)).toBe(false);
    purged.push(f);
  }
}

async function shredByRevocation(w: Bound, via = stack.http): Promise<void> {
  await stack.aws.kms.send(new DisableKeyCommand({ KeyId: w.keyArn }));
  const req = await via.post(`${w.base}/workspaces/${w.wsId}/operations`, { kind: 'revocation-check' }, w.token);
  expect(req.status).toBe(202);
  await waitUntil(
    'shredded',
    async () => (await via.get(`${w.base}/workspaces/${w.wsId}`, w.token)).body?.keyState === 'shredded',
    30_000,
  );
}

const segs = (p: string) => [`${p}-1`, `${p}-2`, `${p}-3`];

it('shred: both replicas drop the workspace plaintext DEKs', async () => {
  const w = await awsBoundWorkspace(stack);
  const keys = await warm(w, segs('shred'));
  await shredByRevocation(w);
  await expectPurged(w, keys.values());
  expect((await stack.http.get(w.dekPath('shred-1'), w.svc)).status).toBe(410);
}, 60_000);

it('workspace destroy: both replicas drop the workspace plaintext DEKs', async () => {
  const w = await awsBoundWorkspace(stack);
  const keys = await warm(w, segs('destroy'));
  const del = await stack.http.request('DELETE', `${w.base}/workspaces/${w.wsId}`, {
    token: w.token,
    body: { confirm: 'w' },
  });
  expect(del.status).toBeLessThan(300);
  await expectPurged(w, keys.values());
}, 60_000);

it('segment destroy: both replicas drop that DEK only', async () => {
  const w = await awsBoundWorkspace(stack);
  const keys = await warm(w, segs('seg'));
  const del = await stack.http.delete(`${w.base}/workspaces/${w.wsId}/segments/seg-2`, w.token);
  expect(del.status).toBeLessThan(300);
  for (const app of replicas()) await waitUntil('segment DEK dropped', () => deksOf(app, w.wsId) === 2, 5_000);
  for (const app of replicas()) {
    const look = app.services.kekCache.inspectPlaintext();
    for (const form of keys.get('seg-2')!) expect(look.contains(form)).toBe(false);
    expect(look.contains(keys.get('seg-1')![1])).toBe(true);
  }
  purged.push(keys.get('seg-2')!);
  expect((await new HttpClient(replica.url, replica.internalUrl).get(w.dekPath('seg-2'), w.svc)).status).toBe(410);
}, 60_000);

it('KEK rotation: the retired version takes every DEK cached under it', async () => {
  const w = await awsBoundWorkspace(stack);
  const keys = await warm(w, segs('rot'));
  const req = await stack.http.post(`${w.base}/workspaces/${w.wsId}/operations`, { kind: 'kek-rotation' }, w.token);
  expect(req.status).toBe(202);
  const opId = req.body.id ?? req.body.operationId;
  await waitUntil(
    'rotation succeeded',
    async () => (await stack.http.get(`${w.base}/operations/${opId}`, w.token)).body?.state === 'succeeded',
    30_000,
  );
  for (const app of replicas())
    await waitUntil('DEKs under the retired KEK dropped', () => deksOf(app, w.wsId) === 0, 5_000);
  for (const app of replicas())
    for (const f of keys.values())
      for (const form of f) expect(app.services.kekCache.inspectPlaintext().contains(form)).toBe(false);
  // Rotation keeps the DEKs themselves (re-wrapped under version 2): not purged for good, so not in the snapshot scan.
  const again = await stack.http.get(w.dekPath('rot-1'), w.svc);
  expect(again.status).toBe(200);
  expect(again.body.kekVersion).toBe(2);
  expect(forms(again.body.dek)[0].equals(keys.get('rot-1')![0])).toBe(true);
}, 60_000);

it('a replica that missed the shred message drops the plaintext DEKs at its next poll', async () => {
  const w = await awsBoundWorkspace(stack);
  const keys = await warm(w, segs('deaf'));
  await replica.services.kekBus.detachSubscription();
  await shredByRevocation(w);
  // The deaf replica hears nothing; its generation poll (twice per interval) must purge within one interval.
  const seen = Date.now();
  await expectPurged(w, keys.values(), POLL_MS + 500);
  process.stdout.write(`deaf replica purged its DEKs ${Date.now() - seen} ms after the shred was committed\n`);
}, 60_000);

it('a heap snapshot of the process running both replicas holds no text form of any purged DEK', async () => {
  // shred 3 + destroy 3 + segment 1 + missed message 3 (rotation keeps its DEKs, re-wrapped)
  expect(purged.length).toBe(10);
  // Positive control: a key-like string still referenced is found by the same scan.
  const canary = randomBytes(32).toString('base64');
  const file = join(tmpdir(), `keyhold-dek-purge-${process.pid}-${randomBytes(4).toString('hex')}.heapsnapshot`);
  try {
    writeHeapSnapshot(file); // collects garbage first: only what something still references is in it
    const found = await scanFile(file, [Buffer.from(canary, 'latin1'), ...purged.flatMap((f) => f.slice(1))]);
    expect(found[0]).toBe(true);
    expect(found.slice(1).filter(Boolean).length).toBe(0);
  } finally {
    rmSync(file, { force: true });
  }
  expect(canary.length).toBe(44); // keeps the canary referenced through the snapshot
}, 120_000);

/** Which needles occur in the file, scanned in chunks with an overlap so a match across a chunk edge is found. */
async function scanFile(file: string, needles: Buffer[]): Promise<boolean[]> {
  const found = needles.map(() => false);
  const overlap = Math.max(...needles.map((n) => n.length));
  let tail = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) {
    const window = Buffer.concat([tail, chunk as Buffer]);
    needles.forEach((n, i) => {
      if (!found[i] && window.indexOf(n) !== -1) found[i] = true;
    });
    tail = window.subarray(Math.max(0, window.length - overlap));
  }
  return found;
}
