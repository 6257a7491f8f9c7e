import { seedWorkspaces } from '../../apps/api/src/dev/seed-workspaces';
import { awsBoundWorkspace, startStack, tenantWithAdmin, TestStack } from '../support/stack';

type Ws = { id: string; name: string; keyState: string; keyConfigurationId: string | null; degraded: boolean };
type Page = { status: number; body: { workspaces: Ws[]; next: string | null; error?: { code: string } } };

/** GET …/workspaces, …/key-configurations, …/service-principals: keyset paging, sorting, filters, opaque cursors. */
describe('lists that scale', () => {
  let stack: TestStack;
  let t: Awaited<ReturnType<typeof awsBoundWorkspace>>;
  const sql = (text: string, params: unknown[] = []) => stack.api.services.ds.query(text, params);
  beforeAll(async () => {
    stack = await startStack();
    t = await awsBoundWorkspace(stack);
    await seedWorkspaces(stack.api.services.ds, t.tenant.id, 200, { prefix: 'seed', keyConfigurationId: t.kcId });
  });
  afterAll(async () => stack?.close());

  const get = (path: string, token = t.token): Promise<Page> => stack.http.get(`${t.base}${path}`, token);

  /** Every page of a query, following `next`; `between` runs after each page (to insert rows meanwhile). */
  async function all(query: string, between?: (page: number) => Promise<void>): Promise<Ws[]> {
    const out: Ws[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const r: Page = await get(`/workspaces?${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      out.push(...r.body.workspaces);
      cursor = r.body.next;
      await between?.(page++);
    } while (cursor);
    return out;
  }

  it('pages by name through every workspace exactly once while others are inserted, in order', async () => {
    const before: Array<{ id: string }> = await sql(`SELECT id FROM workspaces WHERE tenant_id = $1`, [t.tenant.id]);
    const inserted: string[] = [];
    const seen = await all('sort=name&limit=17', async (page) => {
      // new rows on both sides of the page boundary: before (aaa…) and after (zzz…) the current position
      for (const name of [`aaa-new-${page}`, `zzz-new-${page}`]) {
        const r = await stack.http.post(`${t.base}/workspaces`, { name }, t.token);
        inserted.push(r.body.id);
      }
    });
    const ids = seen.map((w) => w.id);
    expect(new Set(ids).size).toBe(ids.length); // nothing twice
    for (const { id } of before) expect(ids).toContain(id); // nothing that existed is skipped
    const names = seen.map((w) => w.name);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    // rows inserted after the position never appear behind it; those ahead may appear
    expect(seen.some((w) => w.name.startsWith('aaa-new-'))).toBe(false);
    expect(inserted.length).toBeGreaterThan(20);
  });

  it('sorts by creation both ways and pages newest first without gaps', async () => {
    const asc = await all('sort=createdAt&order=asc&limit=50');
    const desc = await all('sort=createdAt&order=desc&limit=37');
    expect(desc.map((w) => w.id)).toEqual(asc.map((w) => w.id).reverse());
  });

  it('filters by name, key state, configuration and degraded, and combines them', async () => {
    const billing = await all('q=BILLING&limit=200');
    expect(billing.length).toBe(40);
    expect(billing.every((w) => w.name.endsWith('-billing'))).toBe(true);
    const suspect = await all('keyState=access_suspect,shredded&limit=200');
    expect(suspect.length).toBe(40);
    expect(suspect.every((w) => ['access_suspect', 'shredded'].includes(w.keyState))).toBe(true);
    const bound = await all(`keyConfigurationId=${t.kcId}&limit=200`);
    expect(bound.length).toBe(181); // 180 seeded + the bound fixture workspace
    expect(bound.every((w) => w.keyConfigurationId === t.kcId)).toBe(true);
    const degraded = await all('degraded=true');
    expect(degraded.length).toBe(10);
    expect(degraded.every((w) => w.degraded && w.keyState === 'active')).toBe(true);
    const both = await all('q=orders&keyState=active&degraded=false');
    expect(both.every((w) => w.name.endsWith('-orders') && w.keyState === 'active' && !w.degraded)).toBe(true);
    const [{ n }] = await sql(
      `SELECT count(*)::int AS n FROM workspaces WHERE tenant_id = $1 AND name LIKE '%-orders' AND key_state = 'active' AND NOT degraded`,
      [t.tenant.id],
    );
    expect(both.length).toBe(n);
    expect(n).toBeGreaterThan(20);
    // LIKE wildcards are searched literally
    await stack.http.post(`${t.base}/workspaces`, { name: '50%_off' }, t.token);
    expect((await all('q=%25_')).map((w) => w.name)).toEqual(['50%_off']);
    expect((await get(`/workspaces?q=nothing-like-this`)).body).toEqual({ workspaces: [], next: null });
  });

  it('binds a cursor to its tenant, sort and filters, and refuses an altered one', async () => {
    const first = await get('/workspaces?sort=name&keyState=active&limit=5');
    const cursor = first.body.next!;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toMatch(/orders|billing|seed-/); // opaque
    expect((await get(`/workspaces?sort=name&keyState=active&limit=5&cursor=${cursor}`)).status).toBe(200);
    const flip = cursor.slice(0, 20) + (cursor[20] === 'A' ? 'B' : 'A') + cursor.slice(21);
    for (const [query, why] of [
      [`sort=name&keyState=active&cursor=${flip}`, 'altered'],
      [`sort=name&keyState=active&cursor=${cursor.slice(0, -2)}`, 'truncated'],
      [`sort=name&keyState=shredded&cursor=${cursor}`, 'other filter'],
      [`sort=name&cursor=${cursor}`, 'filter dropped'],
      [`sort=createdAt&keyState=active&cursor=${cursor}`, 'other sort'],
      [`sort=name&order=desc&keyState=active&cursor=${cursor}`, 'other order'],
      [`sort=name&keyState=active&cursor=bm9wZQ`, 'made up'],
    ]) {
      const r = await get(`/workspaces?${query}`);
      expect([why, r.status, r.body.error?.code]).toEqual([why, 400, 'INVALID_CURSOR']);
    }
    // another list's cursor
    const ops = await stack.http.get(
      `${t.base}/key-configurations?sort=name&keyState=active&cursor=${cursor}`,
      t.token,
    );
    expect(ops.status).toBe(400);
    // another tenant replaying the cursor on its own list: refused, not a page of anything
    const other = await tenantWithAdmin(stack);
    await seedWorkspaces(stack.api.services.ds, other.tenant.id, 10, { prefix: 'other' });
    const theirs = await stack.http.get(
      `/v1/tenants/${other.tenant.id}/workspaces?sort=name&keyState=active&cursor=${cursor}`,
      other.token,
    );
    expect([theirs.status, theirs.body.error?.code]).toEqual([400, 'INVALID_CURSOR']);
    // and their list never shows this tenant's workspaces, nor ours theirs
    const theirList = await stack.http.get(`/v1/tenants/${other.tenant.id}/workspaces?limit=200`, other.token);
    expect(theirList.body.workspaces.map((w: Ws) => w.name).every((n: string) => n.startsWith('other-'))).toBe(true);
    expect((await all('q=other-0')).length).toBe(0);
    // a configuration of another tenant as a filter: 404, never an empty page that hides the mistake
    expect(
      (await stack.http.get(`/v1/tenants/${other.tenant.id}/workspaces?keyConfigurationId=${t.kcId}`, other.token))
        .status,
    ).toBe(404);
  });

  it("resolves given ids (names for the console), never another tenant's", async () => {
    const some = (await get('/workspaces?limit=3')).body.workspaces.map((w) => w.id);
    const other = await tenantWithAdmin(stack);
    const theirs = (
      await stack.http.post(`/v1/tenants/${other.tenant.id}/workspaces`, { name: 'theirs-secret-name' }, other.token)
    ).body.id;
    const r = await get(`/workspaces?id=${[...some, theirs].join(',')}&limit=200`);
    expect(r.body.workspaces.map((w) => w.id).sort()).toEqual([...some].sort());
    expect(JSON.stringify(r.body)).not.toContain('theirs-secret-name');
    const many = Array.from({ length: 201 }, () => some[0]).join(',');
    expect((await get(`/workspaces?id=${many}`)).status).toBe(400);
    expect((await get('/workspaces?id=not-a-uuid')).status).toBe(400);
  });

  it('answers 400 with a code for bad parameters', async () => {
    for (const bad of [
      'limit=0',
      'limit=201',
      'limit=x',
      'sort=updated',
      'order=up',
      'keyState=gone',
      'degraded=yes',
      'keyConfigurationId=nope',
      'other=1',
      `q=${'x'.repeat(101)}`,
      'q=%00',
    ])
      expect([
        bad,
        (await get(`/workspaces?${bad}`)).status,
        (await get(`/workspaces?${bad}`)).body.error?.code,
      ]).toEqual([bad, 400, 'VALIDATION_FAILED']);
    const r = await get('/workspaces?limit=200');
    expect(r.body.workspaces).toHaveLength(200);
    expect(r.body.next).not.toBeNull();
    expect((await get('/workspaces')).body.workspaces).toHaveLength(50); // default page
  });

  it('pages and filters key configurations and service principals the same way', async () => {
    const kcs = await stack.http.get(`${t.base}/key-configurations?provider=aws&status=valid&sort=name`, t.token);
    expect(kcs.status).toBe(200);
    expect(kcs.body.keyConfigurations.map((k: { id: string }) => k.id)).toEqual([t.kcId]);
    expect(kcs.body.next).toBeNull();
    expect((await stack.http.get(`${t.base}/key-configurations?provider=ibm`, t.token)).status).toBe(400);
    expect((await stack.http.get(`${t.base}/key-configurations?q=zzz`, t.token)).body).toEqual({
      keyConfigurations: [],
      next: null,
    });

    for (const name of ['sp-a', 'sp-b', 'sp-c', 'other-d'])
      expect(
        (await stack.http.post(`${t.base}/service-principals`, { name, workspaceIds: [t.wsId] }, t.token)).status,
      ).toBe(201);
    const p1 = await stack.http.get(`${t.base}/service-principals?q=sp-&sort=name&limit=2`, t.token);
    expect(p1.body.servicePrincipals.map((p: { name: string }) => p.name)).toEqual(['sp-a', 'sp-b']);
    expect(p1.body.servicePrincipals[0].workspaceIds).toEqual([t.wsId]);
    expect(JSON.stringify(p1.body)).not.toMatch(/secret|hash/i);
    const p2 = await stack.http.get(
      `${t.base}/service-principals?q=sp-&sort=name&limit=2&cursor=${p1.body.next}`,
      t.token,
    );
    expect(p2.body.servicePrincipals.map((p: { name: string }) => p.name)).toEqual(['sp-c']);
    expect(p2.body.next).toBeNull();
    expect(
      (await stack.http.get(`${t.base}/service-principals?disabled=true`, t.token)).body.servicePrincipals,
    ).toEqual([]);
    expect(
      (await stack.http.get(`${t.base}/service-principals?q=sp-&sort=createdAt&cursor=${p1.body.next}`, t.token))
        .status,
    ).toBe(400);
  });

  it('serves a deep page by an index range scan, without sorting the tenant (EXPLAIN)', async () => {
    const big = await tenantWithAdmin(stack);
    await seedWorkspaces(stack.api.services.ds, big.tenant.id, 20_000, { prefix: 'big' });
    const r = await stack.http.get(`/v1/tenants/${big.tenant.id}/workspaces?sort=name&limit=50`, big.token);
    let cursor = r.body.next as string;
    for (let i = 0; i < 3; i++)
      cursor = (
        await stack.http.get(`/v1/tenants/${big.tenant.id}/workspaces?sort=name&limit=50&cursor=${cursor}`, big.token)
      ).body.next;
    const deep = await stack.http.get(
      `/v1/tenants/${big.tenant.id}/workspaces?sort=name&limit=50&cursor=${cursor}`,
      big.token,
    );
    const last = deep.body.workspaces[49] as Ws;
    // The statement the repository runs for that page (libs/persistence/src/workspaces.repository.ts `page`).
    for (const [order, index] of [
      ['name', 'workspaces_tenant_name_idx'],
      ['created_at', 'workspaces_tenant_created_idx'],
    ]) {
      const [plan] = await sql(
        `EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM workspaces WHERE tenant_id = $1 AND (${order}, id) > ((SELECT ${order} FROM workspaces WHERE id = $2), $2::uuid)
           ORDER BY ${order} ASC, id ASC LIMIT 51`,
        [big.tenant.id, last.id],
      );
      const text = JSON.stringify(plan['QUERY PLAN']);
      expect(text).toContain(index);
      expect(text).not.toContain('"Node Type":"Sort"');
      expect(text).not.toContain('Seq Scan');
    }
    // A rare search term is found through the trigram index, not by walking the tenant (the repository's statement).
    const [rare] = await sql(
      `EXPLAIN (FORMAT JSON) SELECT id FROM workspaces WHERE tenant_id = $1 AND name ILIKE $2 ORDER BY name ASC, id ASC LIMIT 51`,
      [big.tenant.id, '%nothing-like-this%'],
    );
    expect(JSON.stringify(rare['QUERY PLAN'])).toContain('workspaces_name_trgm_idx');
  });
});
