import { randomBytes, randomUUID } from 'node:crypto';
import { awsBoundWorkspace, startStack, tenantWithAdmin, TestStack } from '../support/stack';

type Item = {
  workspaceId: string;
  workspaceName: string | null;
  state: string;
  operationId: string | null;
  error: { code: string; message: string } | null;
};
type Bulk = {
  id: string;
  kind: string;
  action: string;
  state: string;
  progress: { done: number; total: number };
  counts: Record<string, number>;
  items: Item[];
};

/** POST …/bulk-operations: bind, re-key or rewrap many workspaces as one tracked operation with per-workspace results. */
describe('bulk operations', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof awsBoundWorkspace>>;
  beforeAll(async () => {
    stack = await startStack();
    t = await awsBoundWorkspace(stack);
  });
  afterAll(async () => stack?.close());

  async function settled(id: string, token = t.token, until = (b: Bulk) => b.counts.pending === 0): Promise<Bulk> {
    for (let i = 0; i < 200; i++) {
      const r = await stack.http.get(`${t.base}/bulk-operations/${id}`, token);
      expect(r.status).toBe(200);
      if (until(r.body)) return r.body;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('bulk operation did not settle');
  }

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
    const done = await settled(r.body.id);
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
    const r1 = await settled(rekey.body.id);
    // no worker runs in this stack: the re-key is queued, the parent running until its child finishes
    expect(r1.state).toBe('running');
    expect(r1.items[0]).toMatchObject({ workspaceId: t.wsId, state: 'running' });
    const child = await stack.http.get(`${t.base}/operations/${r1.items[0].operationId}`, t.token);
    expect(child.body).toMatchObject({
      kind: 'rekey',
      workspaceId: t.wsId,
      targetKeyConfigurationId: kc2,
      state: 'queued',
    });
    expect(r1.items[1]).toMatchObject({ workspaceId: ws, state: 'failed', error: { code: 'WORKSPACE_UNBOUND' } });

    // the child's end is the item's end
    await stack.api.services.ds.query(
      `UPDATE operations SET state = 'failed', error = 'the customer key refused', finished_at = now() WHERE id = $1`,
      [r1.items[0].operationId],
    );
    const after = await settled(rekey.body.id);
    expect(after.state).toBe('failed');
    expect(after.items[0]).toMatchObject({
      state: 'failed',
      error: { code: 'OPERATION_FAILED', message: 'the customer key refused' },
    });

    // rewrap: every workspace bound to the configuration (those of the first test and the fixture's)
    const rewrap = await stack.http.post(
      `${t.base}/bulk-operations`,
      { action: 'rewrap', keyConfigurationId: t.kcId },
      t.token,
    );
    expect(rewrap.status).toBe(202);
    const r2 = await settled(rewrap.body.id);
    expect(r2.progress.total).toBe(4);
    for (const i of r2.items) {
      expect(i.state).toBe('running');
      expect((await stack.http.get(`${t.base}/operations/${i.operationId}`, t.token)).body).toMatchObject({
        kind: 'cmk-rewrap',
        workspaceId: i.workspaceId,
      });
    }
    expect(
      (await stack.http.post(`${t.base}/bulk-operations`, { action: 'rewrap', keyConfigurationId: kc2 }, t.token)).body
        .error.code,
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
