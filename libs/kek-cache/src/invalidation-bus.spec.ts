import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { KekInvalidationBus } from './invalidation-bus';
import { KekCache } from './kek-cache';

/**
 * The invalidation bus's generation semantics, against real Redis (the poll is driven by hand: the interval is
 * set far beyond the test). What may drop a cached KEK: a generation change, a workspace leaving the KEK-holding
 * states, an invalidation message. What may not: anything a read sees, an unchanged generation (degraded and
 * access_suspect flips do not move it).
 */
describe('KekInvalidationBus', () => {
  const conns: Redis[] = [];
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    for (const r of conns.splice(0)) r.disconnect();
  });

  async function replica(generations: Map<string, number>, prefix = `khspec-${randomBytes(4).toString('hex')}`) {
    const pub = new Redis('redis://127.0.0.1:6379');
    const sub = new Redis('redis://127.0.0.1:6379');
    conns.push(pub, sub);
    const cache = new KekCache({ ttlMs: 60_000, maxEntries: 100 });
    const asked: string[][] = [];
    const bus = new KekInvalidationBus(
      cache,
      pub,
      sub,
      prefix,
      async (ids) => {
        asked.push(ids);
        return new Map(ids.filter((i) => generations.has(i)).map((i) => [i, generations.get(i)!]));
      },
      3_600_000,
    );
    await bus.start();
    closers.push(
      () => bus.close(),
      () => cache.close(),
    );
    return { cache, bus, asked, prefix };
  }
  const load = async () => Buffer.alloc(32, 7);
  const cacheW1 = (cache: KekCache) =>
    cache.use({ tenantId: 't', workspaceId: 'w1', version: 1 }, load, () => undefined);
  const has = (cache: KekCache) => cache.has({ tenantId: 't', workspaceId: 'w1', version: 1 });

  it('keeps the KEK while the generation does not move, however often the poll runs', async () => {
    const gens = new Map([['w1', 4]]);
    const r = await replica(gens);
    r.bus.observe('w1', 4);
    await cacheW1(r.cache);
    for (let i = 0; i < 5; i++) await r.bus.poll();
    expect(has(r.cache)).toBe(true);
    expect(r.asked.at(-1)).toEqual(['w1']);
  });

  it('drops the KEK at the next poll when the generation moved and the message was lost', async () => {
    const gens = new Map([['w1', 4]]);
    const r = await replica(gens);
    r.bus.observe('w1', 4);
    await cacheW1(r.cache);
    gens.set('w1', 5);
    await r.bus.poll();
    expect(has(r.cache)).toBe(false);
  });

  it('a read never advances the baseline: a newer generation seen by a read drops the KEK at once', async () => {
    const gens = new Map([['w1', 4]]);
    const r = await replica(gens);
    r.bus.observe('w1', 4);
    await cacheW1(r.cache);
    r.bus.observe('w1', 4); // same generation: nothing happens
    expect(has(r.cache)).toBe(true);
    r.bus.observe('w1', 3); // an older read that finished late: nothing happens, baseline unchanged
    gens.set('w1', 5);
    r.bus.observe('w1', 5);
    expect(has(r.cache)).toBe(false);
  });

  it('a stale (lower) baseline only ever costs a reload, never a missed purge', async () => {
    const gens = new Map([['w1', 6]]);
    const r = await replica(gens);
    r.bus.observe('w1', 5); // the read ran before an invalidation whose message arrived first
    await cacheW1(r.cache);
    await r.bus.poll();
    expect(has(r.cache)).toBe(false);
    await cacheW1(r.cache);
    await r.bus.poll(); // the fresh baseline comes from this poll
    await r.bus.poll();
    expect(has(r.cache)).toBe(true);
  });

  it('a workspace that left the KEK-holding states (shredded, destroyed, deleted) is dropped whatever its baseline', async () => {
    const gens = new Map<string, number>();
    const r = await replica(gens);
    await cacheW1(r.cache); // no baseline at all (loaded before any read or poll saw it)
    await r.bus.poll();
    expect(has(r.cache)).toBe(false);
  });

  it('an invalidation message drops the KEK on another replica; after detachSubscription only the poll does', async () => {
    const gens = new Map([['w1', 1]]);
    const a = await replica(gens);
    const b = await replica(gens, a.prefix);
    await cacheW1(b.cache);
    await a.bus.shredWorkspace('t', 'w1');
    const until = Date.now() + 2_000;
    while (has(b.cache) && Date.now() < until) await new Promise((res) => setTimeout(res, 10));
    expect(has(b.cache)).toBe(false);

    await cacheW1(b.cache);
    await b.bus.poll(); // baseline 1
    await b.bus.detachSubscription();
    gens.set('w1', 2);
    await a.bus.invalidateWorkspace('t', 'w1');
    await new Promise((res) => setTimeout(res, 200));
    expect(has(b.cache)).toBe(true); // deaf
    await b.bus.poll();
    expect(has(b.cache)).toBe(false);
  });
});
