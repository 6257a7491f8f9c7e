import { randomBytes, randomUUID } from 'node:crypto';
import { DekCache } from './dek-cache';
import { backoffMs, parseRetryAfter } from './retry';

const mat = () => ({ key: randomBytes(32), dekId: randomUUID(), kekVersion: 1 });

describe('DekCache', () => {
  it('zeroes key buffers on LRU eviction, purge, clear and TTL expiry', async () => {
    const c = new DekCache({ maxEntries: 2, ttlMs: 100 });
    const ws = randomUUID();
    const a = mat();
    const b = mat();
    const d = mat();
    c.set(ws, 'a', a, c.epoch(ws));
    c.set(ws, 'b', b, c.epoch(ws));
    c.set(ws, 'c', d, c.epoch(ws));
    expect(a.key.equals(Buffer.alloc(32))).toBe(true);
    expect(c.size).toBe(2);
    expect(c.purgeWorkspace(ws)).toBe(2);
    expect(b.key.equals(Buffer.alloc(32))).toBe(true);
    expect(d.key.equals(Buffer.alloc(32))).toBe(true);
    const e = mat();
    c.set(ws, 'e', e, c.epoch(ws));
    await new Promise((r) => setTimeout(r, 250));
    expect(c.get(ws, 'e')).toBeUndefined();
    expect(e.key.equals(Buffer.alloc(32))).toBe(true);
  });

  it('is bounded in bytes', () => {
    const c = new DekCache({ maxEntries: 1000, maxBytes: 2000, ttlMs: 10_000 });
    const ws = randomUUID();
    for (let i = 0; i < 100; i++) c.set(ws, `s${i}`, mat(), c.epoch(ws));
    expect(c.bytes).toBeLessThanOrEqual(2000);
    expect(c.size).toBeLessThan(20);
  });

  it('a fetch started before a purge does not repopulate the cache', () => {
    const c = new DekCache();
    const ws = randomUUID();
    const epoch = c.epoch(ws);
    c.purgeWorkspace(ws);
    const m = mat();
    expect(c.set(ws, 'a', m, epoch)).toBe(false);
    expect(c.get(ws, 'a')).toBeUndefined();
    expect(m.key.equals(Buffer.alloc(32))).toBe(true);
    const e2 = c.epoch(ws);
    c.clear();
    expect(c.set(ws, 'a', mat(), e2)).toBe(false);
  });

  it('purges one workspace only', () => {
    const c = new DekCache();
    const [w1, w2] = [randomUUID(), randomUUID()];
    c.set(w1, 'a', mat(), c.epoch(w1));
    c.set(w2, 'a', mat(), c.epoch(w2));
    c.purgeWorkspace(w1);
    expect(c.get(w1, 'a')).toBeUndefined();
    expect(c.get(w2, 'a')).toBeDefined();
  });
});

describe('retry timing', () => {
  it('Retry-After is a floor, full jitter on top, capped', () => {
    const p = { deadlineMs: 10_000, baseMs: 100, capMs: 2_000 };
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(backoffMs(p, 0, 2000, () => 0)).toBe(2000);
    expect(backoffMs(p, 0, 2000, () => 0.999)).toBe(2099);
    expect(backoffMs(p, 10, undefined, () => 0.999)).toBe(1998);
    expect(backoffMs(p, 3, undefined, () => 0)).toBe(0);
  });
});
