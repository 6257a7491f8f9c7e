import { Propagation } from './propagation';

describe('Propagation', () => {
  const run = (seed: number) => {
    let t = 0;
    const p = new Propagation(() => t);
    p.configure('gcp', { delayMs: 100, flapMs: 1000, seed });
    p.changing('gcp', 's', 'v0');
    const out: string[] = [];
    for (t = 0; t < 1300; t += 10) out.push(p.view('gcp', 's', 'v1'));
    return out;
  };

  it('serves the old value during the delay, both at random during the flapping, then the new one only', () => {
    const out = run(5);
    expect(new Set(out.slice(0, 10))).toEqual(new Set(['v0']));
    expect(new Set(out.slice(10, 110))).toEqual(new Set(['v0', 'v1']));
    expect(new Set(out.slice(110))).toEqual(new Set(['v1']));
  });

  it('is reproducible by seed', () => {
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('converges several changes in order: a later change is never seen without the earlier ones', () => {
    let t = 0;
    const p = new Propagation(() => t);
    p.configure('azure', { delayMs: 0, flapMs: 1000, seed: 3, newRate: 0.5 });
    p.changing('azure', 's', 'a');
    t = 500;
    p.changing('azure', 's', 'b');
    const seen = new Set<string>();
    for (; t < 1000; t += 5) seen.add(p.view('azure', 's', 'c'));
    expect(seen).toEqual(new Set(['a', 'b', 'c']));
    t = 1600;
    expect(p.view('azure', 's', 'c')).toBe('c');
  });

  it('is off until configured, and for other clouds', () => {
    const p = new Propagation(() => 0);
    p.changing('aws', 's', 'old');
    expect(p.view('aws', 's', 'new')).toBe('new');
    p.configure('gcp', { flapMs: 1000 });
    p.changing('aws', 's', 'old');
    expect(p.view('aws', 's', 'new')).toBe('new');
    expect(() => p.configure('gcp', { newRate: 2 })).toThrow(/newRate/);
    expect(() => p.configure('gcp', { delayMs: -1 })).toThrow(/delayMs/);
  });
});
