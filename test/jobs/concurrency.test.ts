import { Redis } from 'ioredis';
import { OperationKind, ROUTES, RedisTokenBucket } from '@app/jobs';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { AwsTenant, JobsHarness, startJobsHarness } from './harness';

let h: JobsHarness;
const workers: RunningWorker[] = [];

beforeAll(async () => {
  h = await startJobsHarness();
});
afterAll(async () => {
  for (const w of workers) await w.close();
  await h?.close();
});
afterEach(() => h.aws.faults.clear());

const segments = (n: number) => Array.from({ length: n }, (_, i) => `seg-${String(i).padStart(6, '0')}`);
const keyIdOf = (t: AwsTenant) => t.keyArn.split('/').pop() as string;

describe('at-least-once delivery, duplicates and pacing', () => {
  it('the same operation delivered twice to two workers commits once', async () => {
    workers.push(await startTestWorker(h.config, { settings: { dekBatchSize: 200 } }));
    workers.push(await startTestWorker(h.config, { settings: { dekBatchSize: 200 } }));
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const before = await h.fetchDeks(t, ws, segments(2_000));
    const opId = await h.request(t.tenantId, ws, OperationKind.KekRotation);
    // A duplicate delivery of the same operation under another job id (what a reconciler race or a manual
    // retry could produce): both workers run it at the same time.
    const route = ROUTES[OperationKind.KekRotation];
    await h.dispatcher
      .queue(route.queue)
      .add(route.job, { operationId: opId, tenantId: t.tenantId }, { jobId: `${opId}-dup` });

    const op = await h.waitForOperation(t.tenantId, opId, 30_000);
    expect(op).toMatchObject({ state: 'succeeded', progressDone: 2_000 });
    const keks = await h.ds.query(`SELECT version, state FROM kek_versions WHERE workspace_id = $1 ORDER BY version`, [
      ws,
    ]);
    expect(keks).toEqual([
      { version: 1, state: 'retired' },
      { version: 2, state: 'active' },
    ]);
    const wraps = await h.ds.query(
      `SELECT wrap_count::int AS n FROM kek_versions WHERE workspace_id = $1 AND version = 2`,
      [ws],
    );
    expect(wraps[0].n).toBe(2_000);
    const after = await h.fetchDeks(t, ws, segments(2_000));
    for (const [s, d] of before) expect(after.get(s)).toBe(d);
    // The duplicate job ends without doing anything.
    const dup = await h.dispatcher.queue(route.queue).getJob(`${opId}-dup`);
    for (let i = 0; i < 50 && (await dup!.getState()) !== 'completed'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await dup!.getState()).toBe('completed');
    while (workers.length) await workers.pop()!.close();
  });

  it('throttling slows an operation down, it never fails it', async () => {
    const worker = await startTestWorker(h.config, { settings: { providerAttemptsInPlace: 2 } });
    workers.push(worker);
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    await h.fetchDeks(t, ws, segments(10));
    // Ten throttled answers in a row: more than one job run's in-place retries, so the job is parked and resumed.
    h.aws.faults.add({ cloud: 'aws', keyId: keyIdOf(t), kind: 'throttle', count: 10 });
    const opId = await h.request(t.tenantId, ws, OperationKind.KekRotation);
    const op = await h.waitForOperation(t.tenantId, opId, 30_000);
    expect(op.state).toBe('succeeded');
    expect(op.attempts).toBeGreaterThan(1);
    const metrics = await (await fetch(`${worker.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/keyhold_jobs_total\{kind="kek-rotation",outcome="parked"\} [1-9]/);
    expect(metrics).not.toMatch(/keyhold_jobs_total\{kind="kek-rotation",outcome="failed"\}/);
    while (workers.length) await workers.pop()!.close();
  });

  it('the Redis token bucket paces calls to the configured rate across clients', async () => {
    const a = new Redis(h.config.redisUrl);
    const b = new Redis(h.config.redisUrl);
    try {
      const prefix = `${h.config.redisPrefix}:bucket-test`;
      const buckets = [new RedisTokenBucket(a, prefix), new RedisTokenBucket(b, prefix)];
      const spec = [
        { name: 'provider:aws', ratePerSec: 1_000, burst: 1_000 },
        { name: 'keycfg:k1', ratePerSec: 20, burst: 5 },
      ];
      const started = Date.now();
      // 45 calls from two "replicas" against 20/s with a burst of 5: at least (45 - 5) / 20 = 2 s.
      await Promise.all(Array.from({ length: 45 }, (_, i) => buckets[i % 2].take(spec)));
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1_900);
      expect(elapsed).toBeLessThan(4_000);
      // All-or-nothing: an empty configuration bucket does not consume the provider bucket.
      const waitMs = await buckets[0].tryTake(spec);
      expect(waitMs).toBeGreaterThan(0);
      await expect(buckets[0].tryTake([{ name: 'x', ratePerSec: 0, burst: 1 }])).rejects.toThrow(/ratePerSec/);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
