import { OperationKind, QueueName } from '@app/jobs';
import { Queue } from 'bullmq';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';

/**
 * Redis loses its data (FLUSHDB) and the reconciler puts every unfinished operation back. This file uses its
 * own Redis logical database (7) so the flush cannot touch any other test's keys.
 */
const REDIS_DB = 7;
let h: JobsHarness;

beforeAll(async () => {
  h = await startJobsHarness({ redisDb: REDIS_DB });
  const db = (await h.redis.config('GET', 'databases')) as string[];
  if (Number(db[1]) <= REDIS_DB) throw new Error(`Redis has only ${db[1]} databases; this test needs db ${REDIS_DB}`);
});
afterAll(async () => {
  await h?.close();
});

const segments = (n: number) => Array.from({ length: n }, (_, i) => `seg-${String(i).padStart(6, '0')}`);

async function flush() {
  // Belt and braces: never FLUSHDB anything but the dedicated database.
  const info = await h.redis.client('INFO');
  if (!new RegExp(`\\bdb=${REDIS_DB}\\b`).test(info))
    throw new Error(`refusing to flush: connection is not on db ${REDIS_DB}`);
  await h.redis.flushdb();
}

describe('Redis loses its data', () => {
  it('an operation queued before the flush is re-enqueued by the reconciler and completes', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const before = await h.fetchDeks(t, ws, segments(300));
    const opId = await h.request(t.tenantId, ws, OperationKind.KekRotation);
    await flush();
    const queue = h.dispatcher.queue(QueueName.KekRotation);
    expect(await queue.getJob(opId)).toBeUndefined();

    const worker = await startTestWorker(h.config);
    try {
      const op = await h.waitForOperation(t.tenantId, opId, 20_000);
      expect(op).toMatchObject({ state: 'succeeded', progressDone: 300 });
      const after = await h.fetchDeks(t, ws, segments(300));
      for (const [s, d] of before) expect(after.get(s)).toBe(d);
    } finally {
      await worker.close();
    }
  });

  it('a flush in the middle of a running operation: the reconciler recovers it, schedulers come back', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const before = await h.fetchDeks(t, ws, segments(2_000));
    let flushed = false;
    // At the second batch: Redis loses everything, and the job dies with it (as if its worker went down too).
    const worker: RunningWorker = await startTestWorker(h.config, {
      settings: { dekBatchSize: 500 },
      stepHook: async (kind, step, op) => {
        if (!flushed && op && kind === 'kek-rotation' && step === 'rewrapping') {
          const row = await h.waitForOperation(t.tenantId, op.id, 1_000, () => true);
          if (row.progressDone >= 500) {
            flushed = true;
            await flush();
            throw new Error('simulated loss of the job together with Redis');
          }
        }
      },
    });
    try {
      const opId = await h.request(t.tenantId, ws, OperationKind.KekRotation);
      const op = await h.waitForOperation(t.tenantId, opId, 30_000);
      expect(flushed).toBe(true);
      expect(op).toMatchObject({ state: 'succeeded', progressDone: 2_000, progressTotal: 2_000 });
      const after = await h.fetchDeks(t, ws, segments(2_000));
      for (const [s, d] of before) expect(after.get(s)).toBe(d);
      const stray = await h.ds.query(
        `SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1 AND kek_version <> 2`,
        [ws],
      );
      expect(stray[0].n).toBe(0);

      // The reconciler also re-created the job schedulers the flush erased.
      const maintenance = new Queue(QueueName.Maintenance, { connection: h.redis, prefix: h.config.redisPrefix });
      try {
        const deadline = Date.now() + 5_000;
        let ids: string[] = [];
        while (Date.now() < deadline) {
          ids = (await maintenance.getJobSchedulers()).map((s) => s.key);
          if (ids.length === 2) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(ids.sort()).toEqual(['probe-sweep', 'rotation-check']);
      } finally {
        await maintenance.close();
      }
    } finally {
      await worker.close();
    }
  });
});
