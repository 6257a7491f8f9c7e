import { measured, renderTable, skipped } from './report';
import { assemble, buildTargets } from './results';

const meta = { mode: 'quick', machine: { cpus: 2, node: 'v20' } };

describe('results', () => {
  it('keeps every required field, null with a reason when a section could not run', () => {
    const r = assemble({ 'dek-fetch': skipped('the API is not built'), seed: measured({}) }, meta);
    expect(r.dek_fetch).toEqual({ rps: null, ceiling_rps: null, ratio: null, p50_ms: null, p99_ms: null });
    expect(r.revocation).toEqual({ seconds_to_410: null, seconds_all_replicas: null });
    expect(r.kms_calls_per_million_dek_fetches).toBeNull();
    expect(r.not_measured['dek-fetch']).toBe('the API is not built');
    expect(r.mode).toBe('quick');
  });

  it('marks missed targets as MISSED, met ones ok and unmeasured ones NOT RUN', () => {
    const r = assemble(
      {
        'dek-fetch': measured({
          dek_fetch: { rps: 9000, ceiling_rps: 30000, ratio: 0.3, p50_ms: 4, p99_ms: 12 },
          batch: { deks_per_s: 100000 },
        }),
        cold: measured({
          single_flight: {
            concurrent: 1000,
            kms_calls: 1,
            multi: { workspaces: 100, per_workspace: 10, kms_calls: 100 },
          },
          cold_fetch: { ms: 22, injected_ms: 20, ratio: 1.1 },
        }),
      },
      meta,
    );
    const targets = buildTargets(r);
    const by = (prefix: string) => targets.find((t) => t.name.startsWith(prefix))!;
    expect(by('DEK fetch / ceiling').met).toBe(false);
    expect(by('DEK fetch p99').met).toBe(false);
    expect(by('single flight: KMS calls').met).toBe(true);
    expect(by('single flight: 100 cold').met).toBe(true);
    expect(by('cold fetch').met).toBe(true);
    expect(by('KEK rotation DEKs/s').met).toBeNull();
    const table = renderTable(targets);
    expect(table).toContain('MISSED');
    expect(table).toContain('NOT RUN');
  });

  it('counts a revocation that never produced a 410 as missed, not as not-run', () => {
    const r = assemble(
      { revocation: measured({ revocation: { seconds_to_410: null, seconds_all_replicas: null, bound_seconds: 12 } }) },
      meta,
    );
    const t = buildTargets(r).find((x) => x.name === 'revocation: first 410')!;
    expect(t.met).toBe(false);
    expect(t.actual).toContain('never');
  });

  it('compares the KMS economy to its analytic minimum', () => {
    const ok = assemble(
      { economy: measured({ kms_calls_per_million_dek_fetches: 105, kms_calls_analytic_min_per_million: 100 }) },
      meta,
    );
    const bad = assemble(
      { economy: measured({ kms_calls_per_million_dek_fetches: 250, kms_calls_analytic_min_per_million: 100 }) },
      meta,
    );
    const pick = (r: ReturnType<typeof assemble>) =>
      buildTargets(r).find((t) => t.name.startsWith('KMS calls per 1M'))!;
    expect(pick(ok).met).toBe(true);
    expect(pick(bad).met).toBe(false);
  });
});

describe('carryOver (partial runs)', () => {
  const { assemble, carryOver } = jest.requireActual<typeof import('./results')>('./results');
  const prior = assemble(
    { memory: { ok: true, value: { memory: { kek_cache_bytes_per_workspace: 1357 } } } } as never,
    { mode: 'full', started_at: '2026-12-01T00:00:00Z' },
  );

  it('keeps the previous figures of sections not selected, marked with the run they came from', () => {
    const out = carryOver(
      assemble({ scaling: { ok: true, value: { scaling: { sizes: [] } } } } as never, { mode: 'full' }),
      prior,
      ['memory'],
    );
    expect(out.memory).toEqual({ kek_cache_bytes_per_workspace: 1357 });
    expect(out.carried_over).toEqual({ memory: '2026-12-01T00:00:00Z' });
  });

  it('never carries figures across modes', () => {
    const out = carryOver(assemble({}, { mode: 'quick' }), prior, ['memory']);
    expect(out.memory).toEqual({ kek_cache_bytes_per_workspace: null, dek_cache_bytes_per_dek: null });
    expect(out.carried_over).toBeUndefined();
  });
});
