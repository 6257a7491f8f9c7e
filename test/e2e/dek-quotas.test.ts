import { randomBytes } from 'node:crypto';
import { ApiApp } from '../../apps/api/src/app';
import { startApi } from '../../stack';
import { awsBoundWorkspace, HttpClient, startStack, tenantWithAdmin, TestStack } from '../support/stack';

/**
 * DEK creation limits, on two API replicas over one database and Redis prefix: the per-workspace DEK quota
 * (enforced in SQL, so concurrent replicas cannot overshoot it), the per-principal creation rate (shared in
 * Redis), and the per-KEK wrap cap (503 KEK_WRAP_LIMIT, a rotation started at once, the database's grant is
 * the truth). Fetching DEKs that exist is never limited.
 */
describe('DEK quotas and limits', () => {
  let stack: TestStack;
  let replica2: ApiApp;
  let http2: HttpClient;
  const QUOTA = 30;
  const RATE = 60;

  beforeAll(async () => {
    stack = await startStack({
      config: {
        dekQuotaPerWorkspace: QUOTA,
        dekCreateRatePerMinute: RATE,
        kekMaxWraps: 1_000,
        kekWrapHardCap: 2_000,
        kekWrapReserveChunk: 7,
      },
    });
    replica2 = await startApi(stack.config);
    http2 = new HttpClient(replica2.url, replica2.internalUrl);
  });
  afterAll(async () => {
    await replica2?.close();
    await stack?.close();
  });

  async function boundWorkspace(s: TestStack = stack) {
    const t = await tenantWithAdmin(s);
    const vendor = s.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
    const roleName = `r-${randomBytes(4).toString('hex')}`;
    const roleArn = await s.aws.createRole(roleName, vendor, t.tenant.aws.externalId);
    const keyArn = await s.aws.createKey(roleArn, roleName);
    const base = `/v1/tenants/${t.tenant.id}`;
    const kc = await s.http.post(
      `${base}/key-configurations`,
      { name: 'k', provider: 'aws', aws: { keyArn, roleArn } },
      t.token,
    );
    const ws = await s.http.post(`${base}/workspaces`, { name: 'w' }, t.token);
    expect(
      (await s.http.put(`${base}/workspaces/${ws.body.id}/key-binding`, { keyConfigurationId: kc.body.id }, t.token))
        .status,
    ).toBe(200);
    const wsId = ws.body.id as string;
    const principal = async () => {
      const sp = await s.http.post(`${base}/service-principals`, { name: 's', workspaceIds: [wsId] }, t.token);
      const tok = await s.http.post('/v1/auth/token', {
        grant_type: 'client_credentials',
        client_id: sp.body.clientId,
        client_secret: sp.body.clientSecret,
      });
      return tok.body.access_token as string;
    };
    return {
      ...t,
      base,
      wsId,
      principal,
      dekPath: (seg: string) => `/internal/v1/workspaces/${wsId}/segments/${encodeURIComponent(seg)}/dek`,
      batchPath: `/internal/v1/workspaces/${wsId}/deks:batchGet`,
    };
  }

  const count = async (s: TestStack, wsId: string) =>
    (await s.api.services.ds.query(`SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1`, [wsId]))[0]
      .n as number;

  it('per-workspace quota: a batch past it creates only what fits and answers 429 DEK_QUOTA_EXCEEDED', async () => {
    const w = await boundWorkspace();
    const a = await w.principal();
    const first = await stack.http.post(w.batchPath, { segmentIds: Array.from({ length: 20 }, (_, i) => `q-${i}`) }, a);
    expect(first.status).toBe(200);
    const over = await stack.http.post(
      w.batchPath,
      { segmentIds: Array.from({ length: 20 }, (_, i) => `q-more-${i}`) },
      await w.principal(),
    );
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('DEK_QUOTA_EXCEEDED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await count(stack, w.wsId)).toBe(QUOTA);
    // case variants are distinct ids, each counted: no way around the quota
    const variant = await http2.get(w.dekPath('Q-0'), a);
    expect(variant.status).toBe(429);
    expect(variant.body.error.code).toBe('DEK_QUOTA_EXCEEDED');
    // existing DEKs are still served, on both replicas
    expect((await stack.http.get(w.dekPath('q-3'), a)).status).toBe(200);
    expect((await http2.post(w.batchPath, { segmentIds: ['q-1', 'q-2', 'q-more-0'] }, a)).status).toBe(200);
    expect(await count(stack, w.wsId)).toBe(QUOTA);
  });

  it('the quota holds when two replicas create concurrently', async () => {
    const w = await boundWorkspace();
    const tokens = await Promise.all(Array.from({ length: 4 }, () => w.principal()));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const h = i % 2 ? http2 : stack.http;
        return i % 4 === 0
          ? h.post(w.batchPath, { segmentIds: [`c-${i}-a`, `c-${i}-b`, `c-${i}-c`] }, tokens[i % 4])
          : h.get(w.dekPath(`c-${i}`), tokens[i % 4]);
      }),
    );
    expect(
      results.every((r) => r.status === 200 || (r.status === 429 && r.body.error.code === 'DEK_QUOTA_EXCEEDED')),
    ).toBe(true);
    expect(results.some((r) => r.status === 429)).toBe(true);
    expect(await count(stack, w.wsId)).toBe(QUOTA);
  });

  it('per-principal creation rate: shared by replicas, only creations count', async () => {
    const w = await boundWorkspace();
    const w2 = await boundWorkspace();
    const p = await w.principal();
    const ok = await stack.http.post(w.batchPath, { segmentIds: Array.from({ length: 25 }, (_, i) => `r-${i}`) }, p);
    expect(ok.status).toBe(200);
    // fetching the same DEKs many times costs no creation budget
    for (let i = 0; i < 5; i++)
      expect(
        (await http2.post(w.batchPath, { segmentIds: ok.body.deks.map((d: { segmentId: string }) => d.segmentId) }, p))
          .status,
      ).toBe(200);
    for (let i = 0; i < 40; i++) expect((await stack.http.get(w.dekPath(`r-${i % 25}`), p)).status).toBe(200);
    const more = await http2.post(w.batchPath, { segmentIds: Array.from({ length: 25 }, (_, i) => `r2-${i}`) }, p);
    expect(more.status).toBe(429); // 50 creations fit the rate (60) but not the workspace quota (30)
    expect(['DEK_CREATE_RATE_LIMITED', 'DEK_QUOTA_EXCEEDED']).toContain(more.body.error.code);
    // A fresh workspace (quota untouched): the principal of w is still limited there if in scope; another
    // principal is not. Use w2's principals to show the limit is per principal.
    const q = await w2.principal();
    const burst = await stack.http.post(
      w2.batchPath,
      { segmentIds: Array.from({ length: 25 }, (_, i) => `b-${i}`) },
      q,
    );
    expect(burst.status).toBe(200);
    const again = await http2.post(
      w2.batchPath,
      { segmentIds: Array.from({ length: RATE - 25 + 1 }, (_, i) => `b2-${i}`) },
      q,
    );
    expect(again.status).toBe(429);
    expect(again.body.error.code).toBe('DEK_CREATE_RATE_LIMITED');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await count(stack, w2.wsId)).toBe(25);
    expect((await stack.http.get(w2.dekPath('b-3'), q)).status).toBe(200);
  });
});

describe('per-KEK wrap cap', () => {
  let stack: TestStack;
  const SOFT = 20;
  const HARD = 30;

  beforeAll(async () => {
    stack = await startStack({ config: { kekMaxWraps: SOFT, kekWrapHardCap: HARD, kekWrapReserveChunk: 4 } });
  });
  afterAll(async () => stack?.close());

  it('refuses creations past the cap with 503 KEK_WRAP_LIMIT, creates only what the database granted, and starts a rotation at once', async () => {
    const w = await awsBoundWorkspace(stack);
    const ws = { body: { id: w.wsId } };
    const svc = w.svc;
    const batch = w.batchPath;
    const { ds } = stack.api.services;
    const ops = async () =>
      (
        await ds.query(`SELECT count(*)::int AS n FROM operations WHERE workspace_id = $1 AND kind = 'kek-rotation'`, [
          ws.body.id,
        ])
      )[0].n as number;

    const a = await stack.http.post(batch, { segmentIds: Array.from({ length: 22 }, (_, i) => `k-${i}`) }, svc);
    expect(a.status).toBe(200);
    // past the soft threshold: a rotation is requested now (in the background of the request that crossed it), not at
    // the next hourly check
    const deadline = Date.now() + 5_000;
    while ((await ops()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await ops()).toBe(1);

    const b = await stack.http.post(batch, { segmentIds: Array.from({ length: 12 }, (_, i) => `k2-${i}`) }, svc);
    expect(b.status).toBe(503);
    expect(b.body.error.code).toBe('KEK_WRAP_LIMIT');
    expect(Number(b.headers.get('retry-after'))).toBeGreaterThan(0);
    const [{ n, wraps }] = await ds.query(
      `SELECT (SELECT count(*)::int FROM deks WHERE workspace_id = $1) AS n, (SELECT wrap_count::int FROM kek_versions WHERE workspace_id = $1 AND state = 'active') AS wraps`,
      [ws.body.id],
    );
    expect(wraps).toBeLessThanOrEqual(HARD);
    expect(n).toBe(HARD);
    const c = await stack.http.get(`/internal/v1/workspaces/${ws.body.id}/segments/one-more/dek`, svc);
    expect(c.status).toBe(503);
    expect(c.body.error.code).toBe('KEK_WRAP_LIMIT');
    expect(await ops()).toBe(1);
    // existing DEKs keep being served
    expect((await stack.http.get(`/internal/v1/workspaces/${ws.body.id}/segments/k-1/dek`, svc)).status).toBe(200);
  });
});
