import { RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { OperationKind } from '@app/jobs';
import { spawnWorker, startTestWorker, workerEnv } from '../support/worker';
import { AwsTenant, JobsHarness, startJobsHarness } from './harness';

/**
 * The worker process is SIGKILLed at each step of each operation (by itself, through the crash seam
 * KEYHOLD_WORKER_CRASH_AT, so the kill lands exactly after that step was recorded), then another worker takes
 * the operation over (BullMQ stalled-job recovery) and finishes it. Nothing may be lost or duplicated.
 */
let h: JobsHarness;
const LOCK = { lockDurationMs: 2_000, stalledIntervalMs: 500 };

beforeAll(async () => {
  h = await startJobsHarness();
});
const children: Array<{ kill(signal?: NodeJS.Signals): void }> = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await h?.close();
});

const segments = (n: number) => Array.from({ length: n }, (_, i) => `seg-${String(i).padStart(6, '0')}`);

/** Run the operation in a child that kills itself at `crashAt`, then recover it with an in-process worker. */
async function crashThenRecover(t: AwsTenant, operationId: string, crashAt: string) {
  const child = spawnWorker(
    workerEnv(h.config, {
      KEYHOLD_WORKER_CRASH_AT: crashAt,
      KEYHOLD_WORKER_LOCK_MS: String(LOCK.lockDurationMs),
      KEYHOLD_WORKER_STALLED_INTERVAL_MS: String(LOCK.stalledIntervalMs),
      KEYHOLD_KEK_ROTATION_BATCH: '500',
    }),
  );
  children.push(child);
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    child.exited,
    new Promise<never>((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`worker did not crash at ${crashAt}: ${child.output().slice(-1500)}`)),
        30_000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  expect(exit.signal).toBe('SIGKILL');
  const mid = await h.waitForOperation(t.tenantId, operationId, 1_000, () => true);
  expect(mid.state).toBe('running');
  expect(mid.step).toBe(crashAt.split(':')[1]);

  const recovery = await startTestWorker(h.config, { settings: { ...LOCK, dekBatchSize: 500 } });
  try {
    return await h.waitForOperation(t.tenantId, operationId, 30_000);
  } finally {
    await recovery.close();
  }
}

async function assertConsistent(t: AwsTenant, ws: string, before: Map<string, string>, expectVersion: number) {
  const keks = await h.ds.query(`SELECT version, state FROM kek_versions WHERE workspace_id = $1 ORDER BY version`, [
    ws,
  ]);
  expect(
    keks.filter((k: { state: string }) => k.state === 'active').map((k: { version: number }) => k.version),
  ).toEqual([expectVersion]);
  const stray = await h.ds.query(`SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1 AND kek_version <> $2`, [
    ws,
    expectVersion,
  ]);
  expect(stray[0].n).toBe(0);
  expect((await h.workspace(t.tenantId, ws)).keyState).toBe('active');
  const after = await h.fetchDeks(t, ws, [...before.keys()]);
  for (const [seg, dek] of before) expect(after.get(seg)).toBe(dek);
}

describe('SIGKILL at every step, then recovery', () => {
  it.each(['planned', 'switched', 'rewrapping:1', 'rewrapping:3', 'retired'])(
    'KEK rotation killed at %s',
    async (step) => {
      const t = await h.awsTenant();
      const ws = t.workspaceIds[0];
      const before = await h.fetchDeks(t, ws, segments(1_500));
      const opId = await h.request(t.tenantId, ws, OperationKind.KekRotation);
      const op = await crashThenRecover(t, opId, `kek-rotation:${step}`);
      expect(op).toMatchObject({ state: 'succeeded', progressDone: 1_500, progressTotal: 1_500 });
      expect(op.attempts).toBeGreaterThanOrEqual(2);
      await assertConsistent(t, ws, before, 2);
      const wraps = await h.ds.query(
        `SELECT wrap_count::int AS n FROM kek_versions WHERE workspace_id = $1 AND version = 2`,
        [ws],
      );
      expect(wraps[0].n).toBeGreaterThanOrEqual(1_500);
    },
  );

  it.each(['rewrapping', 'rewrapped'])('CMK rewrap killed at %s', async (step) => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const before = await h.fetchDeks(t, ws, segments(10));
    await h.kms.send(new RotateKeyOnDemandCommand({ KeyId: t.keyArn }));
    const opId = await h.request(t.tenantId, ws, OperationKind.CmkRewrap);
    const op = await crashThenRecover(t, opId, `cmk-rewrap:${step}`);
    expect(op.state).toBe('succeeded');
    await assertConsistent(t, ws, before, 1);
    const rows = await h.ds.query(`SELECT provider_key_version AS v FROM kek_versions WHERE workspace_id = $1`, [ws]);
    expect(rows[0].v).not.toBeNull();
  });

  it.each(['rekeying', 'rewrapped'])('re-key killed at %s', async (step) => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const before = await h.fetchDeks(t, ws, segments(10));
    const second = await t.addKey();
    const { BindWorkspace } = await import('@app/keys');
    const bound = await new BindWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      workspaceId: ws,
      keyConfigurationId: second.keyConfigurationId,
    });
    if (bound.kind !== 'rekey') throw new Error('expected a re-key operation');
    const op = await crashThenRecover(t, bound.operationId, `rekey:${step}`);
    expect(op.state).toBe('succeeded');
    await assertConsistent(t, ws, before, 1);
    expect((await h.workspace(t.tenantId, ws)).keyConfigurationId).toBe(second.keyConfigurationId);
    const rows = await h.ds.query(`SELECT key_configuration_id AS k FROM kek_versions WHERE workspace_id = $1`, [ws]);
    expect(rows.map((r: { k: string }) => r.k)).toEqual([second.keyConfigurationId]);
  });

  it('SIGTERM mid-rotation: the worker exits cleanly, hands the job back without failing it, another finishes', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const before = await h.fetchDeks(t, ws, segments(6_000));
    const opId = await h.request(t.tenantId, ws, OperationKind.KekRotation);
    const child = spawnWorker(
      workerEnv(h.config, {
        KEYHOLD_WORKER_LOCK_MS: String(LOCK.lockDurationMs),
        KEYHOLD_WORKER_STALLED_INTERVAL_MS: String(LOCK.stalledIntervalMs),
        KEYHOLD_KEK_ROTATION_BATCH: '100',
      }),
    );
    children.push(child);
    await child.ready;
    await h.waitForOperation(t.tenantId, opId, 20_000, (o) => o.progressDone > 0);
    child.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const mid = await h.waitForOperation(t.tenantId, opId, 1_000, () => true);
    expect(mid.state).toBe('running');
    expect(mid.progressDone).toBeLessThan(6_000);

    const recovery = await startTestWorker(h.config, { settings: LOCK });
    try {
      const op = await h.waitForOperation(t.tenantId, opId, 30_000);
      expect(op).toMatchObject({ state: 'succeeded', progressDone: 6_000 });
    } finally {
      await recovery.close();
    }
    await assertConsistent(t, ws, before, 2);
  });
});
