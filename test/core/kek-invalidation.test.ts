import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { KekCache, KekInvalidationBus } from '../../libs/kek-cache/src';

/** Cross-replica invalidation over real Redis pub/sub, and the bounded fallback when a message is lost. */
describe('KEK cache invalidation across replicas', () => {
  const url = 'redis://127.0.0.1:6379';
  const conns: Redis[] = [];
  const closers: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of closers) await c();
    for (const r of conns) r.disconnect();
  });

  function replica(prefix: string, versions: Map<string, number>, pollMs = 60_000) {
    const pub = new Redis(url);
    const sub = new Redis(url);
    conns.push(pub, sub);
    const cache = new KekCache({ ttlMs: 60_000, maxEntries: 100 });
    const bus = new KekInvalidationBus(
      cache,
      pub,
      sub,
      prefix,
      async (ids) => new Map(ids.filter((i) => versions.has(i)).map((i) => [i, versions.get(i)!])),
      pollMs,
    );
    closers.push(
      () => bus.close(),
      () => cache.close(),
    );
    return { cache, bus };
  }

  const id = { tenantId: 't', workspaceId: 'w1', version: 1 };
  const load = async () => Buffer.alloc(32, 9);

  it('a shred published by one replica drops the KEK on the other', async () => {
    const prefix = `khtest-${randomBytes(4).toString('hex')}`;
    const versions = new Map([['w1', 1]]);
    const r1 = replica(prefix, versions);
    const r2 = replica(prefix, versions);
    await r1.bus.start();
    await r2.bus.start();
    await r2.cache.use(id, load, () => undefined);
    expect(r2.cache.has(id)).toBe(true);
    await r1.bus.shredWorkspace('t', 'w1');
    const until = Date.now() + 2000;
    while (r2.cache.has(id) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(r2.cache.has(id)).toBe(false);
  });

  it('a lost message is covered by the state_version poll', async () => {
    const prefix = `khtest-${randomBytes(4).toString('hex')}`;
    const versions = new Map([['w1', 1]]);
    const r = replica(prefix, versions, 100);
    await r.bus.start();
    r.bus.observe('w1', 1);
    await r.cache.use(id, load, () => undefined);
    versions.set('w1', 2); // the state changed and the pub/sub message never arrived
    const until = Date.now() + 2000;
    while (r.cache.has(id) && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
    expect(r.cache.has(id)).toBe(false);
  });
});
