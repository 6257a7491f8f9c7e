import { DEK_ENTRY_BYTES, DEK_SLOT_BYTES, KekCache } from './kek-cache';

/**
 * The plaintext DEK cache inside the KEK cache: a DEK is cached only under a cached KEK, leaves with it on every
 * path a KEK leaves by, is zeroed when it leaves, and the whole is bounded in bytes.
 */
const T = 't1';
const id = (w: string, v = 1) => ({ tenantId: T, workspaceId: w, version: v });
const kek = (fill: number) => async () => Buffer.alloc(32, fill);
/** A body in the route's layout with a recognisable key part. */
const body = (tag: string) => `{"dek":"${tag.padEnd(44, 'A')}","dekId":"id-${tag}","kekVersion":1}`;
const needle = (tag: string) => Buffer.from(tag.padEnd(44, 'A'), 'latin1');

describe('KekCache: plaintext DEKs under their KEK', () => {
  let cache: KekCache;
  afterEach(() => cache?.close());
  const make = (opts: Partial<{ ttlMs: number; maxEntries: number; dekMaxBytes: number }> = {}) =>
    (cache = new KekCache({ ttlMs: 10_000, maxEntries: 10, dekMaxBytes: 1 << 20, ...opts }));
  const put = (w: string, seg: string, tag: string, v = 1) => cache.putDek(T, w, v, seg, `id-${tag}`, body(tag));

  it('caches a DEK only while its KEK is cached, and serves it only for the same tenant, version and row', async () => {
    make();
    expect(put('w', 's', 'k1')).toBe(false); // no KEK cached: nothing to hang it on
    await cache.use(id('w'), kek(1), () => undefined);
    expect(put('w', 's', 'k1')).toBe(true);
    expect(cache.dekBody(T, 'w', 1, 's', 'id-k1')).toBe(body('k1'));
    expect(cache.dekPart(T, 'w', 1, 's', 'id-k1', 8, 52)).toBe('k1'.padEnd(44, 'A'));
    expect(cache.dekBody('other-tenant', 'w', 1, 's', 'id-k1')).toBeUndefined();
    expect(cache.dekBody(T, 'w', 2, 's', 'id-k1')).toBeUndefined();
    expect(cache.dekBody(T, 'w', 1, 's', 'another-row')).toBeUndefined();
    expect(cache.dekBody(T, 'w', 1, 'other-seg', 'id-k1')).toBeUndefined();
    expect(cache.snapshot()).toMatchObject({ deks: 1, dekBytes: DEK_ENTRY_BYTES, dekStores: 1 });
  });

  it('an invalidation of the workspace (shred, destroy, rotation, remote, poll) zeroes its DEKs in the same step', async () => {
    make();
    await cache.use(id('w', 1), kek(1), () => undefined);
    await cache.use(id('w', 2), kek(2), () => undefined);
    await cache.use(id('x'), kek(3), () => undefined);
    put('w', 'a', 'wa', 1);
    put('w', 'b', 'wb', 2);
    put('x', 'a', 'xa');
    const seen: number[] = [];
    cache.onInvalidate(() => seen.push(cache.inspectPlaintext().deks('w')));
    cache.dropWorkspace(T, 'w', 'shred');
    expect(seen).toEqual([0]); // already gone when the listeners hear of it
    const look = cache.inspectPlaintext();
    expect(look.deks('w')).toBe(0);
    expect(look.contains(needle('wa'))).toBe(false);
    expect(look.contains(needle('wb'))).toBe(false);
    expect(look.deks('x')).toBe(1);
    expect(look.contains(needle('xa'))).toBe(true); // the scan finds what is there
  });

  it('a destroyed segment drops its DEK under every KEK version; the KEK and the other DEKs stay', async () => {
    make();
    await cache.use(id('w', 1), kek(1), () => undefined);
    await cache.use(id('w', 2), kek(2), () => undefined);
    put('w', 'gone', 'g1', 1);
    put('w', 'gone', 'g2', 2);
    put('w', 'kept', 'kp', 2);
    cache.dropDek('w', 'gone');
    expect(cache.inspectPlaintext().deks('w')).toBe(1);
    expect(cache.inspectPlaintext().contains(needle('g1'))).toBe(false);
    expect(cache.inspectPlaintext().contains(needle('g2'))).toBe(false);
    expect(cache.has(id('w', 1)) && cache.has(id('w', 2))).toBe(true);
    expect(cache.dekBody(T, 'w', 2, 'kept', 'id-kp')).toBe(body('kp'));
  });

  it('TTL expiry of the KEK takes its DEKs (on read and by the sweeper)', async () => {
    make({ ttlMs: 40 });
    await cache.use(id('w'), kek(1), () => undefined);
    await cache.use(id('v'), kek(2), () => undefined);
    put('w', 's', 'ttl1');
    put('v', 's', 'ttl2');
    await new Promise((r) => setTimeout(r, 60));
    expect(cache.dekBody(T, 'w', 1, 's', 'id-ttl1')).toBeUndefined();
    expect(cache.inspectPlaintext().contains(needle('ttl1'))).toBe(false);
    await new Promise((r) => setTimeout(r, 300)); // the sweeper runs at max(ttl / 2, 250 ms)
    expect(cache.inspectPlaintext().deks()).toBe(0);
    expect(cache.inspectPlaintext().contains(needle('ttl2'))).toBe(false);
  });

  it('CLOCK eviction of a KEK takes its DEKs', async () => {
    make({ maxEntries: 2 });
    await cache.use(id('a'), kek(1), () => undefined);
    put('a', 's', 'lru');
    await cache.use(id('b'), kek(2), () => undefined);
    await cache.use(id('c'), kek(3), () => undefined);
    expect(cache.has(id('a'))).toBe(false);
    expect(cache.inspectPlaintext().deks('a')).toBe(0);
    expect(cache.inspectPlaintext().contains(needle('lru'))).toBe(false);
  });

  it('a KEK load that raced with an invalidation is never cached, so no DEK can be cached under it', async () => {
    make();
    let release!: () => void;
    const slow = cache.use(
      id('w'),
      () => new Promise<Buffer>((r) => (release = () => r(Buffer.alloc(32, 4)))),
      () => put('w', 's', 'race'),
    );
    cache.dropWorkspace(T, 'w', 'invalidate');
    release();
    expect(await slow).toBe(false);
    expect(cache.inspectPlaintext().deks()).toBe(0);
  });

  it('honours the byte bound under many DEKs, keeping recently used ones (CLOCK)', async () => {
    const bound = 100 * DEK_ENTRY_BYTES;
    make({ dekMaxBytes: bound });
    await cache.use(id('w'), kek(1), () => undefined);
    put('w', 'hot', 'hot');
    for (let i = 0; i < 5_000; i++) {
      put('w', `s${i}`, `k${i}`);
      if (i % 50 === 0) expect(cache.dekBody(T, 'w', 1, 'hot', 'id-hot')).toBeDefined();
      expect(cache.snapshot().dekBytes).toBeLessThanOrEqual(bound);
    }
    const look = cache.inspectPlaintext();
    expect(look.deks()).toBe(100);
    expect(look.bytes()).toBe(bound);
    expect(cache.dekBody(T, 'w', 1, 'hot', 'id-hot')).toBe(body('hot'));
    expect(cache.snapshot().dekEvictions).toBe(5_001 - 100);
    // Evicted slots were zeroed: the early keys are nowhere in the slab.
    for (const i of [0, 1, 2, 1000, 2500]) expect(look.contains(needle(`k${i}`))).toBe(false);
    expect(look.contains(needle('k4999'))).toBe(true);
  });

  it('a bound of 0 caches nothing; an encoded DEK larger than a slot is not cached', async () => {
    make({ dekMaxBytes: 0 });
    await cache.use(id('w'), kek(1), () => undefined);
    expect(put('w', 's', 'x')).toBe(false);
    cache.close();
    make();
    await cache.use(id('w'), kek(1), () => undefined);
    expect(cache.putDek(T, 'w', 1, 's', 'i', 'x'.repeat(DEK_SLOT_BYTES + 1))).toBe(false);
    expect(cache.putDek(T, 'w', 1, 's', 'i', 'x'.repeat(DEK_SLOT_BYTES))).toBe(true);
  });

  it('replacing a cached DEK zeroes the old one; clear and close zero everything', async () => {
    make();
    await cache.use(id('w'), kek(1), () => undefined);
    put('w', 's', 'old');
    put('w', 's', 'new');
    expect(cache.inspectPlaintext().deks()).toBe(1);
    expect(cache.inspectPlaintext().contains(needle('old'))).toBe(false);
    const look = cache.inspectPlaintext();
    cache.clear();
    expect(look.deks()).toBe(0);
    expect(look.contains(needle('new'))).toBe(false);
  });
});
