import { backoffDelay } from './backoff';

describe('backoffDelay (full jitter)', () => {
  const policy = { baseMs: 100, capMs: 5_000, floorMs: 0 };
  it('grows exponentially up to the cap', () => {
    const top = (n: number) => backoffDelay(n, policy, () => 0.999999);
    expect(top(0)).toBe(99);
    expect(top(1)).toBe(199);
    expect(top(3)).toBe(799);
    expect(top(10)).toBe(4999);
    expect(top(5000)).toBe(4999);
  });
  it('is jittered over [floor, ceiling)', () => {
    expect(backoffDelay(4, policy, () => 0)).toBe(0);
    expect(backoffDelay(4, { ...policy, floorMs: 10 }, () => 0)).toBe(10);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(6, policy)));
    expect(seen.size).toBeGreaterThan(10);
  });
  it('rejects bad input', () => {
    expect(() => backoffDelay(-1, policy)).toThrow(/attempt/);
    expect(() => backoffDelay(1, { baseMs: 0, capMs: 1 })).toThrow(/baseMs/);
  });
});
