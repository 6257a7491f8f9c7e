import { Registry } from 'prom-client';
import type { VendorCanaryRepository } from '@app/persistence';
import { KeyConfig, KeyDescription, ProviderError, WrappedKek } from '@app/provider-port';
import { JobMetrics } from '../observability/job-metrics';
import type { JobProvider, ProviderResolver } from '../ports';
import { VendorCanary } from './vendor-canary';

/**
 * The canary's freshness rule, which is what lets it stand between a customer's revocation-class answer and a shred:
 * a result is reused only if its probe started at or after the moment asked for; concurrent askers share one probe;
 * a failing canary is reported with its class, a healthy one as healthy. (Persistence is exercised in test/jobs; here
 * the status write fails and is only logged, which must not change the result.)
 */
function world() {
  let calls = 0;
  let fail: ProviderError | null = null;
  let gate: Promise<void> | null = null;
  const provider = {
    describe: async (): Promise<KeyDescription> => {
      calls++;
      if (gate) await gate;
      if (fail) throw fail;
      return {
        keyId: 'canary',
        state: 'enabled',
        usage: 'ENCRYPT_DECRYPT',
        usageOk: true,
        spec: 'SYMMETRIC_DEFAULT',
        currentVersion: null,
      };
    },
    wrap: async (_c: KeyConfig, kek: Buffer): Promise<WrappedKek> => ({
      ciphertext: Buffer.from(kek),
      keyVersion: null,
    }),
    unwrap: async (_c: KeyConfig, w: WrappedKek): Promise<Buffer> => Buffer.from(w.ciphertext),
  } as unknown as JobProvider;
  const providers: ProviderResolver = { get: () => provider };
  const logs: string[] = [];
  const statuses: Pick<VendorCanaryRepository, 'record'> = {
    record: async () => Promise.reject(new Error('no database in this spec')),
  };
  const metrics = new JobMetrics(new Registry());
  const canary = new VendorCanary(
    [{ provider: 'aws', config: { provider: 'aws' } as unknown as KeyConfig, target: 'arn:canary' }],
    providers,
    statuses,
    metrics,
    (level, msg) => logs.push(`${level}: ${msg}`),
  );
  return {
    canary,
    metrics,
    logs,
    calls: () => calls,
    failWith: (e: ProviderError | null) => (fail = e),
    hold: () => {
      let open!: () => void;
      gate = new Promise<void>((r) => (open = r));
      return () => {
        gate = null;
        open();
      };
    },
  };
}

describe('VendorCanary', () => {
  it('answers null for a provider without a canary', async () => {
    const w = world();
    expect(w.canary.has('gcp')).toBe(false);
    expect(await w.canary.resultSince('gcp', 0)).toBeNull();
  });

  it('reuses a result only when its probe started at or after the moment asked for', async () => {
    const w = world();
    const first = await w.canary.resultSince('aws', Date.now());
    expect(first).toMatchObject({ provider: 'aws', healthy: true, errorClass: null });
    expect(w.calls()).toBe(1);
    expect(await w.canary.resultSince('aws', first!.startedAt)).toBe(first); // fresh enough
    expect(w.calls()).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    const later = Date.now();
    const second = await w.canary.resultSince('aws', later); // older than asked for: probes again
    expect(w.calls()).toBe(2);
    expect(second!.startedAt).toBeGreaterThanOrEqual(later);
  });

  it('concurrent askers share one probe', async () => {
    const w = world();
    const release = w.hold();
    const at = Date.now();
    const answers = Promise.all(Array.from({ length: 5 }, () => w.canary.resultSince('aws', at)));
    await new Promise((r) => setImmediate(r));
    release();
    const results = await answers;
    expect(w.calls()).toBe(1);
    expect(new Set(results).size).toBe(1);
  });

  it('reports a failure with its class, logs the change once, and recovers', async () => {
    const w = world();
    w.failWith(new ProviderError('access_denied', 'aws', 'assume_role', 'AccessDenied', 'denied'));
    const bad = await w.canary.resultSince('aws', Date.now());
    expect(bad).toMatchObject({ healthy: false, errorClass: 'access_denied', providerCode: 'AccessDenied' });
    await w.canary.sweep();
    expect(await w.metrics.registry.getSingleMetricAsString('keyhold_vendor_canary_healthy')).toMatch(
      /provider="aws"\} 0/,
    );
    w.failWith(null);
    await w.canary.sweep();
    expect(await w.metrics.registry.getSingleMetricAsString('keyhold_vendor_canary_healthy')).toMatch(
      /provider="aws"\} 1/,
    );
    const transitions = w.logs.filter((l) => !l.includes('status not saved'));
    expect(transitions).toEqual([
      expect.stringMatching(/^error: vendor canary failing/),
      expect.stringMatching(/^info: vendor canary healthy again/),
    ]);
  });
});
