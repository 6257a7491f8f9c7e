import { KekCache } from './kek-cache';

const id = (w: string, v = 1) => ({ tenantId: 't', workspaceId: w, version: v });
const key = (fill: number) => Buffer.alloc(32, fill);

describe('KekCache', () => {
  let cache: KekCache;
  afterEach(() => cache.close());

  it('single flight: concurrent misses share one load', async () => {
    cache = new KekCache({ ttlMs: 10_000, maxEntries: 10 });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return key(7);
    };
    const out = await Promise.all(Array.from({ length: 25 }, () => cache.use(id('w'), load, (k) => k[0])));
    expect(out.every((b) => b === 7)).toBe(true);
    expect(loads).toBe(1);
    expect(cache.stats.unwraps).toBe(1);
    await cache.use(id('w'), load, () => undefined);
    expect(cache.stats.hits).toBe(1);
  });

  it('zeroes the caller buffer, evicts LRU beyond the size bound and zeroes evicted keys', async () => {
    cache = new KekCache({ ttlMs: 10_000, maxEntries: 2 });
    const raw = key(1);
    let held: Buffer | undefined;
    await cache.use(
      id('a'),
      async () => raw,
      (k) => (held = k),
    );
    expect(raw.every((b) => b === 0)).toBe(true);
    await cache.use(
      id('b'),
      async () => key(2),
      () => undefined,
    );
    await cache.use(
      id('c'),
      async () => key(3),
      () => undefined,
    );
    expect(cache.has(id('a'))).toBe(false);
    expect(held!.every((b) => b === 0)).toBe(true);
    expect(cache.size()).toBe(2);
  });

  it('expires after the TTL', async () => {
    cache = new KekCache({ ttlMs: 30, maxEntries: 10 });
    await cache.use(
      id('a'),
      async () => key(1),
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(cache.has(id('a'))).toBe(false);
  });

  it('drops every version of a workspace and does not cache a load that raced with the drop', async () => {
    cache = new KekCache({ ttlMs: 10_000, maxEntries: 10 });
    await cache.use(
      id('a', 1),
      async () => key(1),
      () => undefined,
    );
    await cache.use(
      id('a', 2),
      async () => key(2),
      () => undefined,
    );
    const seen: string[] = [];
    cache.onInvalidate((_t, w, r) => seen.push(`${w}:${r}`));
    let release!: () => void;
    const slow = cache.use(
      id('a', 3),
      () => new Promise<Buffer>((r) => (release = () => r(key(3)))),
      (k) => k[0],
    );
    cache.dropWorkspace('t', 'a', 'shred');
    release();
    expect(await slow).toBe(3);
    expect(cache.has(id('a', 1)) || cache.has(id('a', 2)) || cache.has(id('a', 3))).toBe(false);
    expect(seen).toEqual(['a:shred']);
  });

  it('a failed load is not cached and is retried by the next caller', async () => {
    cache = new KekCache({ ttlMs: 10_000, maxEntries: 10 });
    await expect(
      cache.use(
        id('a'),
        async () => Promise.reject(new Error('kms down')),
        () => 1,
      ),
    ).rejects.toThrow('kms down');
    expect(
      await cache.use(
        id('a'),
        async () => key(5),
        (k) => k[0],
      ),
    ).toBe(5);
  });
});
