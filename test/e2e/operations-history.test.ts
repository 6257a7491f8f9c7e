import { awsBoundWorkspace, startStack, tenantWithAdmin, TestStack } from '../support/stack';

/** GET …/operations and GET …/workspaces/{id}/operations: newest first, filters, cursor paging, tenant scoping. */
describe('operations history', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  it('pages newest first through every operation, filters by kind and state, and answers 404 for another tenant', async () => {
    const t = await awsBoundWorkspace(stack);
    const ids: string[] = [];
    // Without a worker the operations stay queued; one unfinished operation per (workspace, kind), so use several workspaces.
    const workspaces = [t.wsId];
    for (let i = 0; i < 2; i++) {
      const ws = await stack.http.post(`${t.base}/workspaces`, { name: `h${i}` }, t.token);
      await stack.http.put(`${t.base}/workspaces/${ws.body.id}/key-binding`, { keyConfigurationId: t.kcId }, t.token);
      workspaces.push(ws.body.id);
    }
    for (const w of workspaces)
      for (const kind of ['kek-rotation', 'cmk-rewrap']) {
        const r = await stack.http.post(`${t.base}/workspaces/${w}/operations`, { kind }, t.token);
        expect(r.status).toBe(202);
        ids.push(r.body.operationId);
      }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: { status: number; body: { operations: Array<{ id: string }>; next: string | null } } =
        await stack.http.get(`${t.base}/operations?limit=4${cursor ? `&cursor=${cursor}` : ''}`, t.token);
      expect(r.status).toBe(200);
      seen.push(...r.body.operations.map((o: { id: string }) => o.id));
      cursor = r.body.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(2);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen.length).toBe(ids.length);
    expect(seen.slice(0, 1)).toEqual([ids[ids.length - 1]]); // newest first

    const rotations = await stack.http.get(`${t.base}/operations?kind=kek-rotation&state=queued,running`, t.token);
    expect(rotations.body.operations).toHaveLength(3);
    expect(
      rotations.body.operations.every(
        (o: { kind: string; requestedBy: string }) => o.kind === 'kek-rotation' && /^admin:/.test(o.requestedBy),
      ),
    ).toBe(true);
    const ws = await stack.http.get(`${t.base}/workspaces/${workspaces[1]}/operations`, t.token);
    expect(ws.body.operations.map((o: { workspaceId: string }) => o.workspaceId)).toEqual([
      workspaces[1],
      workspaces[1],
    ]);
    expect((await stack.http.get(`${t.base}/operations?state=succeeded`, t.token)).body).toEqual({
      operations: [],
      next: null,
    });

    for (const bad of ['kind=shred', 'state=done', 'limit=0', 'limit=500', 'cursor=%%%', 'cursor=bm9wZQ', 'other=1'])
      expect([bad, (await stack.http.get(`${t.base}/operations?${bad}`, t.token)).status]).toEqual([bad, 400]);

    const other = await tenantWithAdmin(stack);
    expect(
      (await stack.http.get(`/v1/tenants/${other.tenant.id}/workspaces/${t.wsId}/operations`, other.token)).status,
    ).toBe(404);
    expect((await stack.http.get(`${t.base}/workspaces/${t.wsId}/operations`, other.token)).status).toBe(404);
    expect((await stack.http.get(`/v1/tenants/${other.tenant.id}/operations`, other.token)).body.operations).toEqual(
      [],
    );
  });
});
