import { assertMostlyOk } from './load';
import type { LoadResult } from './load-spec';

const result = (over: Partial<LoadResult>): LoadResult => ({
  type: 'load-result',
  rps: 1000,
  requests: 10_000,
  ok2xx: 10_000,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  statusCodes: { '200': 10_000 },
  p50Ms: 1,
  p99Ms: 5,
  durationSeconds: 10,
  ...over,
});

describe('assertMostlyOk', () => {
  it('accepts a run with at most 1% failures', () => {
    expect(() => assertMostlyOk('x', result({ non2xx: 100, ok2xx: 9_900 }))).not.toThrow();
  });

  it('refuses a run that measured the error path', () => {
    expect(() =>
      assertMostlyOk('DEK fetch', result({ non2xx: 500, statusCodes: { '200': 9_500, '401': 500 } })),
    ).toThrow(/DEK fetch: 500 of 10000 requests failed.*401/);
    expect(() => assertMostlyOk('x', result({ errors: 200 }))).toThrow('failed');
  });

  it('refuses a run with no requests at all (or an unreadable count)', () => {
    expect(() => assertMostlyOk('x', result({ requests: 0 }))).toThrow('0 of 0');
    expect(() => assertMostlyOk('x', result({ requests: undefined }))).toThrow('failed');
  });
});
