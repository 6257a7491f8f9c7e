import { median, percentile, ratio, round, slope } from './stats';

describe('stats', () => {
  it('uses nearest-rank percentiles', () => {
    const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 90)).toBe(9);
    expect(percentile(xs, 99)).toBe(10);
    expect(percentile(xs, 0)).toBe(1);
    expect(median([3])).toBe(3);
  });

  it('refuses empty samples and out-of-range percentiles', () => {
    expect(() => percentile([], 50)).toThrow('empty sample');
    expect(() => percentile([1], 101)).toThrow('[0, 100]');
  });

  it('does not mutate its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it('answers null for a ratio with no denominator instead of Infinity', () => {
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(3, 4)).toBe(0.75);
    expect(round(1 / 3, 2)).toBe(0.33);
  });
});

import { minimumLoads } from '../support/load-child';

describe('KEK-load minimum of an access trace', () => {
  it('loads once per workspace per TTL, counted from the previous load', () => {
    // workspace 0 at 0, 500, 1000 (expired: reload), 1999 (fresh), 2000 (expired); workspace 1 once
    expect(minimumLoads([0, 0, 0, 1, 0, 0], [0, 500, 1000, 1200, 1999, 2000], 1000)).toBe(4);
    expect(minimumLoads([], [], 1000)).toBe(0);
  });
});

describe('slope', () => {
  it('fits the cost per item through noisy readings', () => {
    expect(
      slope([
        [0, 100],
        [10, 120],
        [20, 140],
      ]),
    ).toBeCloseTo(2);
    // One reading that dropped (pages handed back) moves the fit much less than it moves the endpoints.
    expect(
      slope([
        [0, 1000],
        [100, 1200],
        [200, 1400],
        [300, 900 + 600],
      ]),
    ).toBeGreaterThan(0);
    expect(
      slope([
        [5, 1],
        [5, 2],
      ]),
    ).toBe(0);
  });
});
