import { randomBytes, randomUUID } from 'node:crypto';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startStack as startPrivateStack } from '../../stack';
import { TEST_DATABASE_URL } from '../support/db';
import { awsBoundWorkspace, cleanRedisPrefix, startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { spawnWorker, startTestWorker, workerEnv, type WorkerProcess } from '../support/worker';

type Item = {
  workspaceId: string;
  workspaceName: string | null;
  state: string;
  operationId: string | null;
  error: { code: string; message: string } | null;
};
type Bulk = {
  id: string;
  requestedBy: string;
  kind: string;
  action: string;
  state: string;
  progress: { done: number; total: number };
  counts: Record<string, number>;
  items: Item[];
};

type Fixture = Awaited<ReturnType<typeof awsBoundWorkspace>>;

/** Polls GET …/bulk-operations/{id} until `until` holds (by default: no item pending). */
async function settled(
  stack: TestStack,
  t: Fixture,
  id: string,
  until = (b: Bulk) => b.counts.pending === 0,
  timeoutMs = 30_000,
): Promise<Bulk> {
  const deadline = Date.now() + timeoutMs;
  let last: Bulk | undefined;
  while (Date.now() < deadline) {
    const r = await stack.http.get(`${t.base}/bulk-operations/${id}`, t.token);
    expect(r.status).toBe(200);
    last = r.body;
    if (until(r.body)) return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`bulk operation did not settle: ${JSON.stringify(last?.counts)}`);
}

/** POST …/bulk-operations: bind, re-key or rewrap many workspaces as one tracked operation with per-workspace results. */
describe('bulk operations', () => {
  let stack: TestStack;
  let worker: RunningWorker;
  let t: Fixture;
  beforeAll(async () => {
    stack = await startStack();
    // The worker handles the items (and runs the re-key and rewrap children); the stack shares the test database,
    // so the reconciler is kept to this stack's own jobs.
    worker = await startTestWorker(
      { ...stack.config, logLevel: 'silent' },
      { schedulers: false, settings: { reconcileStaleMs: 3_600_000 } },
    );
    t = await awsBoundWorkspace(stack);
  });
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
    if (stack) await cleanRedisPrefix(stack);
  });

  async function secondConfiguration(): Promise<string> {
    const vendor = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
    const roleName = `r-${randomBytes(4).toString('hex')}`;
    const roleArn = await stack.aws.createRole(roleName, vendor, t.tenant.aws.externalId);
    const keyArn = await stack.aws.createKey(roleArn, roleName);
    const kc = await stack.http.post(
      `${t.base}/key-configurations`,
      { name: `k2-${roleName}`, provider: 'aws', aws: { keyArn, roleArn } },
      t.token,
    );
    expect(kc.body.status).toBe('valid');
    return kc.body.id;
  }

  it('binds a selection as one operation, each workspace audited, ids of another tenant or none failing alone', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await stack.http.post(`${t.base}/workspaces`, { name: `bulk-${i}` }, t.token)).body.id);
    const other = await tenantWithAdmin(stack);
    const theirs = (await stack.http.post(`/v1/tenants/${other.tenant.id}/workspaces`, { name: 'theirs' }, other.token))
      .body.id;
    const unknown = randomUUID();
    const r = await stack.http.post(
      `${t.base}/bulk-operations`,
      { action: 'bind', keyConfigurationId: t.kcId, workspaceIds: [...ids, theirs, unknown, ids[0]] },
      t.token,
    );
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ kind: 'bulk', action: 'bind', progress: { total: 5 } });
    const done = await settled(stack, t, r.body.id);
    expect(done.state).toBe('failed'); // not every item succeeded
    expect(done.counts).toEqual({ pending: 0, running: 0, succeeded: 3, failed: 2 });
    expect(done.items.map((i) => [i.workspaceId, i.state, i.error?.code ?? null])).toEqual([
      [ids[0], 'succeeded', null],
      [ids[1], 'succeeded', null],
      [ids[2], 'succeeded', null],
      [theirs, 'failed', 'WORKSPACE_NOT_FOUND'],
      [unknown, 'failed', 'WORKSPACE_NOT_FOUND'],
    ]);
    expect(done.items[3].workspaceName).toBeNull(); // another tenant's workspace: not even its name
    for (const id of ids)
      expect((await stack.http.get(`${t.base}/workspaces/${id}`, t.token)).body.keyState).toBe('active');
    expect(
      (await stack.http.get(`/v1/tenants/${other.tenant.id}/workspaces/${theirs}`, other.token)).body.keyState,
    ).toBe('unbound');

    const audit = await stack.http.get(`${t.base}/audit-events?limit=1000`, t.token);
    const events = audit.body.events as Array<{ action: string; target: string; details: Record<string, unknown> }>;
    expect(
      events.filter((e) => e.action === 'bulk.requested' && e.target === `bulk_operation:${r.body.id}`),
    ).toHaveLength(1);
    expect(events.find((e) => e.target === `bulk_operation:${r.body.id}`)!.details).toMatchObject({
      action: 'bind',
      workspaces: 5,
    });
    for (const id of ids)
      expect(events.some((e) => e.action === 'workspace.bound' && e.target === `workspace:${id}`)).toBe(true);

    // the other tenant cannot read it, an auditor can read but not start one
    expect(
      (await stack.http.get(`/v1/tenants/${other.tenant.id}/bulk-operations/${r.body.id}`, other.token)).status,
    ).toBe(404);
  });

  it('re-keys a selection and rewraps every workspace of a configuration through tracked child operations', async () => {
    const kc2 = await secondConfiguration();
    const ws = (await stack.http.post(`${t.base}/workspaces`, { name: 'unbound-one' }, t.token)).body.id;
    const rekey = await stack.http.post(
      `${t.base}/bulk-operations`,
      { action: 'rekey', keyConfigurationId: kc2, workspaceIds: [t.wsId, ws] },
      t.token,
    );
    expect(rekey.status).toBe(202);
    // the parent runs until its child (the ordinary re-key operation, run by the worker) ends
    const r1 = await settled(stack, t, rekey.body.id, (b) => b.state !== 'running');
    expect(r1.state).toBe('failed'); // one of the two could not be re-keyed
    expect(r1.items[0]).toMatchObject({ workspaceId: t.wsId, state: 'succeeded', error: null });
    const child = await stack.http.get(`${t.base}/operations/${r1.items[0].operationId}`, t.token);
    expect(child.body).toMatchObject({
      kind: 'rekey',
      workspaceId: t.wsId,
      targetKeyConfigurationId: kc2,
      state: 'succeeded',
    });
    expect((await stack.http.get(`${t.base}/workspaces/${t.wsId}`, t.token)).body).toMatchObject({
      keyState: 'active',
      keyConfigurationId: kc2,
    });
    expect(r1.items[1]).toMatchObject({ workspaceId: ws, state: 'failed', error: { code: 'WORKSPACE_UNBOUND' } });

    // rewrap: every workspace bound to the configuration (those of the first test; the fixture's moved to kc2)
    const rewrap = await stack.http.post(
      `${t.base}/bulk-operations`,
      { action: 'rewrap', keyConfigurationId: t.kcId },
      t.token,
    );
    expect(rewrap.status).toBe(202);
    const r2 = await settled(stack, t, rewrap.body.id, (b) => b.state !== 'running');
    expect(r2).toMatchObject({ state: 'succeeded', progress: { done: 3, total: 3 } });
    for (const i of r2.items)
      expect((await stack.http.get(`${t.base}/operations/${i.operationId}`, t.token)).body).toMatchObject({
        kind: 'cmk-rewrap',
        workspaceId: i.workspaceId,
        state: 'succeeded',
      });
    const unused = await secondConfiguration();
    expect(
      (await stack.http.post(`${t.base}/bulk-operations`, { action: 'rewrap', keyConfigurationId: unused }, t.token))
        .body.error.code,
    ).toBe('VALIDATION_FAILED');
  });

  it('refuses a selection over the bound, bad bodies and auditors with a clear 4xx', async () => {
    const many = Array.from({ length: 1001 }, () => randomUUID());
    const tooMany = await stack.http.post(
      `${t.base}/bulk-operations`,
      { action: 'bind', keyConfigurationId: t.kcId, workspaceIds: many },
      t.token,
    );
    expect([tooMany.status, tooMany.body.error.code]).toEqual([400, 'BULK_SELECTION_TOO_LARGE']);
    for (const body of [
      { action: 'shred', keyConfigurationId: t.kcId, workspaceIds: [t.wsId] },
      { action: 'bind', keyConfigurationId: t.kcId, workspaceIds: [] },
      { action: 'bind', keyConfigurationId: t.kcId, workspaceIds: ['x'] },
      { action: 'rewrap', keyConfigurationId: t.kcId, workspaceIds: [t.wsId] },
      { action: 'bind', workspaceIds: [t.wsId] },
    ])
      expect((await stack.http.post(`${t.base}/bulk-operations`, body, t.token)).status).toBe(400);
    expect(
      (
        await stack.http.post(
          `${t.base}/bulk-operations`,
          { action: 'bind', keyConfigurationId: randomUUID(), workspaceIds: [t.wsId] },
          t.token,
        )
      ).status,
    ).toBe(404);
    expect((await stack.http.get(`${t.base}/bulk-operations/${randomUUID()}`, t.token)).status).toBe(404);
    expect((await stack.http.get(`${t.base}/bulk-operations/nope`, t.token)).status).toBe(404);
  });
});

/**
 * The items are the worker's work, not the accepting API's: a bulk operation accepted while no worker runs waits
 * for one, and a worker SIGKILLed mid-way (by itself, through the crash seam, right after an item's outcome was
 * recorded) leaves the rest pending for another worker, which finishes them with no workspace bound twice. A
 * private database, so the workers' reconcilers see only this file's operations.
 */
describe('bulk operations survive the worker', () => {
  let stack: TestStack;
  let t: Fixture;
  const children: WorkerProcess[] = [];
  const LOCK = { lockDurationMs: 2_000, stalledIntervalMs: 500 };
  beforeAll(async () => {
    stack = await startPrivateStack({ databaseUrl: TEST_DATABASE_URL, privateDatabase: 'keyhold_bulk' });
    t = await awsBoundWorkspace(stack);
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await stack?.close();
    if (stack) await cleanRedisPrefix(stack);
  });

  async function workspaces(n: number, prefix: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push((await stack.http.post(`${t.base}/workspaces`, { name: `${prefix}-${i}` }, t.token)).body.id);
    return ids;
  }

  /** Every workspace bound once: one KEK, one successful `workspace.bound` record, by the requesting admin. */
  async function boundOnce(ids: string[], actor: string) {
    const keks: Array<{ w: string; n: number }> = await stack.api.services.ds.query(
      `SELECT workspace_id AS w, count(*)::int AS n FROM kek_versions WHERE workspace_id = ANY($1::uuid[]) GROUP BY 1`,
      [ids],
    );
    expect(keks.map((k) => k.n)).toEqual(ids.map(() => 1));
    const audit = await stack.http.get(`${t.base}/audit-events?limit=1000`, t.token);
    const events = audit.body.events as Array<{ action: string; actor: string; target: string; outcome: string }>;
    for (const id of ids) {
      const bound = events.filter((e) => e.action === 'workspace.bound' && e.target === `workspace:${id}`);
      expect(bound.map((e) => [e.outcome, e.actor])).toEqual([['success', actor]]);
    }
  }

  it('a bulk operation accepted while no worker runs waits for one; a worker started later does every item', async () => {
    const ids = await workspaces(3, 'later');
    const r = await stack.http.post(
      `${t.base}/bulk-operations`,
      { action: 'bind', keyConfigurationId: t.kcId, workspaceIds: ids },
      t.token,
    );
    expect(r.status).toBe(202);
    expect(r.body.requestedBy).toMatch(/^admin:/);
    await new Promise((res) => setTimeout(res, 1_000));
    const waiting = await settled(stack, t, r.body.id, () => true);
    expect(waiting.counts).toEqual({ pending: 3, running: 0, succeeded: 0, failed: 0 });
    for (const id of ids)
      expect((await stack.http.get(`${t.base}/workspaces/${id}`, t.token)).body.keyState).toBe('unbound');

    const worker = await startTestWorker({ ...stack.config, logLevel: 'silent' }, { schedulers: false });
    try {
      const done = await settled(stack, t, r.body.id);
      expect(done).toMatchObject({ state: 'succeeded', counts: { succeeded: 3, pending: 0, failed: 0 } });
    } finally {
      await worker.close();
    }
    await boundOnce(ids, r.body.requestedBy);
  });

  it('a bulk operation whose job Redis lost is enqueued again by the reconciler and completed', async () => {
    const ids = await workspaces(2, 'lost');
    const r = await stack.http.post(
      `${t.base}/bulk-operations`,
      { action: 'bind', keyConfigurationId: t.kcId, workspaceIds: ids },
      t.token,
    );
    expect(r.status).toBe(202);
    await cleanRedisPrefix(stack); // Redis loses everything under this stack's prefix, the job with it
    // the fast settings: the reconciler looks every 0.7 s for pending items untouched for 1.5 s
    const worker = await startTestWorker({ ...stack.config, logLevel: 'silent' }, { schedulers: false });
    try {
      const done = await settled(stack, t, r.body.id);
      expect(done).toMatchObject({ state: 'succeeded', counts: { succeeded: 2, pending: 0, failed: 0 } });
    } finally {
      await worker.close();
    }
    await boundOnce(ids, r.body.requestedBy);
  });

  it('a worker SIGKILLed mid-way: another worker finishes the pending items, none done twice', async () => {
    const ids = await workspaces(8, 'killed');
    const child = spawnWorker(
      workerEnv(stack.config, {
        KEYHOLD_WORKER_CRASH_AT: 'bulk-operation:item-recorded:3',
        // one item at a time, so the kill lands between items (a bind killed mid-way is recovered only once its
        // `provisioning` state is stale, minutes later; that path is BindWorkspace's own)
        KEYHOLD_WORKER_BULK_ITEM_CONCURRENCY: '1',
        KEYHOLD_WORKER_LOCK_MS: String(LOCK.lockDurationMs),
        KEYHOLD_WORKER_STALLED_INTERVAL_MS: String(LOCK.stalledIntervalMs),
      }),
    );
    children.push(child);
    await child.ready;
    const r = await stack.http.post(
      `${t.base}/bulk-operations`,
      { action: 'bind', keyConfigurationId: t.kcId, workspaceIds: ids },
      t.token,
    );
    expect(r.status).toBe(202);
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      child.exited,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`worker did not crash: ${child.output().slice(-1500)}`)), 30_000);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(exit.signal).toBe('SIGKILL');
    const mid = await settled(stack, t, r.body.id, () => true);
    expect(mid.counts).toEqual({ pending: 5, running: 0, succeeded: 3, failed: 0 });
    expect(mid.state).toBe('running');

    const recovery = await startTestWorker({ ...stack.config, logLevel: 'silent' }, { settings: LOCK });
    try {
      const done = await settled(stack, t, r.body.id);
      expect(done).toMatchObject({ state: 'succeeded', counts: { succeeded: 8, pending: 0, failed: 0 } });
      expect(done.items.map((i) => i.workspaceId)).toEqual(ids);
    } finally {
      await recovery.close();
    }
    await boundOnce(ids, r.body.requestedBy);
  });
});
