import { FULL, parseArgs, QUICK } from './mode';

describe('bench arguments', () => {
  it('defaults to the full run and keeps the issue sizes', () => {
    const { mode } = parseArgs([]);
    expect(mode).toBe(FULL);
    expect(FULL).toMatchObject({
      fetchWorkspaces: 1000,
      segmentsPerWorkspace: 100,
      scaleWorkspaces: 10_000,
      kekRotationDeks: 1_000_000,
      economySeconds: 60,
      connections: 50,
      revocationProbe: null,
    });
  });

  it('quick mode shrinks sizes but keeps every measurement', () => {
    expect(parseArgs(['--quick']).mode).toBe(QUICK);
    expect(QUICK).toMatchObject({
      kekRotationDeks: 100_000,
      economySeconds: 15,
      singleFlightConcurrent: 1000,
      multiColdWorkspaces: 100,
    });
    expect(QUICK.scaleWorkspaces).toBeLessThan(FULL.scaleWorkspaces);
    expect(QUICK.revocationProbe).not.toBeNull();
  });

  it('names a bad argument', () => {
    expect(() => parseArgs(['--fast'])).toThrow('unknown argument "--fast"');
    expect(parseArgs(['--only=cold,memory']).only).toEqual(new Set(['cold', 'memory']));
  });
});
