import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PROFILE, DEFAULT_SETTINGS, fleet, type Measured } from './model';
import { renderCapacity, withCapacity, BEGIN, END } from './render';

const measured: Measured = {
  dekRpsPerReplica: 20_000,
  dekP99Ms: 5,
  bytesPerCachedWorkspace: 1_400,
  coldFillsPerSecond: 2_000,
  unwrapsPerWorkspacePerTtl: 1,
  pgBytesPerWorkspace: 2_300,
  pgBytesPerDek: 310,
  pgBytesPerAuditEvent: 560,
  redisBytesPer10kWorkspaces: 10_000,
  rotationDeksPerSecond: 30_000,
  callsPerProbe: 2,
};

describe('capacity model', () => {
  it('sizes replicas by throughput with headroom, never below the minimum', () => {
    expect(fleet(measured, { tenants: 1_000, ...DEFAULT_PROFILE }).apiReplicas).toBe(2);
    // 100k tenants × 5 req/s = 500k req/s over 10k req/s planned per replica
    expect(fleet(measured, { tenants: 100_000, ...DEFAULT_PROFILE }).apiReplicas).toBe(50);
  });

  it('sizes replicas with the rate measured at the population they serve', () => {
    const curve = {
      ...measured,
      dekRpsBySize: [
        { workspaces: 1_000, rps: 20_000 },
        { workspaces: 100_000, rps: 5_000 },
      ],
    };
    // 10,000 tenants × 5 req/s = 50k req/s over 2.5k planned per replica at 100,000 workspaces
    expect(fleet(curve, { tenants: 10_000, ...DEFAULT_PROFILE }).apiReplicas).toBe(20);
    expect(fleet(measured, { tenants: 10_000, ...DEFAULT_PROFILE }).apiReplicas).toBe(5);
  });

  it('counts KMS refills per replica and probes per configuration', () => {
    const f = fleet(measured, { tenants: 1_000, ...DEFAULT_PROFILE });
    // 2 replicas × 10,000 workspaces / 300 s, and 1,200 configurations × 2 calls / 60 s
    expect(f.kmsCallsPerSecond).toEqual({ cacheRefills: 66.7, probes: 40, total: 106.7 });
  });

  it('names the KEK cache as the first limit when every replica caches a million workspaces', () => {
    const f = fleet(
      { ...measured, coldFillsPerSecond: 10_000 },
      { tenants: 100_000, ...DEFAULT_PROFILE, deksPerWorkspace: 100 },
    );
    expect(f.cacheMbPerReplica).toBe(Math.round((1_000_000 * 1_400) / 2 ** 20));
    expect(f.breaksFirst).toMatch(
      /^KEK cache per replica \(1335 of 1024 MB\) at 130%: route workspaces to replica groups/,
    );
    expect(fleet(measured, { tenants: 1_000, ...DEFAULT_PROFILE }).breaksFirst).toMatch(/^nothing yet \(nearest: /);
    expect(DEFAULT_SETTINGS.kekTtlSeconds).toBe(300);
    // a replica that fills its cache slower than workspaces / TTL cannot keep a million of them warm
    expect(fleet(measured, { tenants: 100_000, ...DEFAULT_PROFILE, deksPerWorkspace: 100 }).breaksFirst).toMatch(
      /^cache refills per replica .* at 167%/,
    );
    // with ten thousand DEKs per workspace, ten billion wrapped DEKs outgrow one Postgres first
    expect(fleet(measured, { tenants: 100_000, ...DEFAULT_PROFILE }).breaksFirst).toMatch(
      /^Postgres size .* partition deks and audit_events by tenant/,
    );
  });

  it('the generated part of docs/CAPACITY.md is current with bench/results/latest.json', () => {
    const root = join(__dirname, '..', '..');
    const doc = readFileSync(join(root, 'docs', 'CAPACITY.md'), 'utf8');
    const results = JSON.parse(readFileSync(join(root, 'bench', 'results', 'latest.json'), 'utf8')) as unknown;
    expect(doc).toContain(BEGIN);
    expect(doc).toContain(END);
    expect(withCapacity(doc, renderCapacity(results))).toBe(doc);
  });
});
