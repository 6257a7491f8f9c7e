import { existsSync } from 'node:fs';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';

/** The HTTP edge: bad input is a 4xx with a code (never a 500 or a stack trace), ops endpoints, OpenAPI, rate limits. */
describe('HTTP edge', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ config: { tokenRatePerPrincipalPerMinute: 5, bodyLimitBytes: 64 * 1024 } });
  });
  afterAll(async () => stack?.close());

  const noStack = (text: string) => expect(text).not.toMatch(/\bat .+\.(ts|js):\d+/);

  it('malformed JSON, wrong content type, oversized body, non-object body → 400/415/413 with a code', async () => {
    const t = await tenantWithAdmin(stack);
    const path = `/v1/tenants/${t.tenant.id}/workspaces`;
    const malformed = await stack.http.request('POST', path, {
      token: t.token,
      raw: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');
    const xml = await stack.http.request('POST', path, {
      token: t.token,
      raw: '<name/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.status).toBe(415);
    expect(xml.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await stack.http.request('POST', path, {
      token: t.token,
      raw: JSON.stringify({ name: 'x'.repeat(100_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const arr = await stack.http.request('POST', path, {
      token: t.token,
      raw: '[1,2]',
      headers: { 'content-type': 'application/json' },
    });
    expect(arr.status).toBe(400);
    expect(arr.body.error.code).toBe('VALIDATION_FAILED');
    const missing = await stack.http.post(path, { nom: 'x' }, t.token);
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/name/);
    for (const r of [malformed, xml, big, arr, missing]) noStack(r.text);
    // DEK batch with bad bodies
    const batch = await stack.http.request('POST', `/internal/v1/workspaces/${t.tenant.id}/deks:batchGet`, {
      raw: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect(batch.status).toBe(400);
  });

  it('bad UUIDs and unknown routes → 404 with a code', async () => {
    const t = await tenantWithAdmin(stack);
    for (const path of [
      `/v1/tenants/${t.tenant.id}/workspaces/not-a-uuid`,
      `/v1/tenants/not-a-uuid/workspaces`,
      `/v1/tenants/${t.tenant.id}/operations/%27;drop`,
      '/v1/nothing-here',
    ]) {
      const r = await stack.http.get(path, t.token);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toMatch(/NOT_FOUND/);
    }
  });

  it('the token endpoint: uniform failures and a rate limit with Retry-After', async () => {
    const t = await tenantWithAdmin(stack);
    const wrong = await stack.http.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: t.tenant.id,
      username: t.email,
      password: 'wrong-password',
    });
    const unknown = await stack.http.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: t.tenant.id,
      username: 'nobody@example.com',
      password: 'wrong-password',
    });
    expect(wrong.status).toBe(400);
    expect(unknown.body).toEqual(wrong.body);
    const badGrant = await stack.http.post('/v1/auth/token', { grant_type: 'implicit' });
    expect(badGrant.status).toBe(400);
    let limited;
    for (let i = 0; i < 6 && !limited; i++) {
      const r = await stack.http.post('/v1/auth/token', {
        grant_type: 'password',
        tenant_id: t.tenant.id,
        username: t.email,
        password: 'nope',
      });
      if (r.status === 429) limited = r;
    }
    expect(limited).toBeDefined();
    if (!limited) return;
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('healthz, readyz and metrics', async () => {
    expect((await stack.http.get('/healthz')).status).toBe(200);
    const ready = await stack.http.get('/readyz');
    expect(ready.body).toEqual({ status: 'ready', postgres: true, redis: true });
    const m = await stack.http.get('/metrics');
    expect(m.status).toBe(200);
    for (const name of [
      'keyhold_kms_calls_total',
      'keyhold_kek_cache_hits_total',
      'keyhold_dek_requests_total',
      'keyhold_workspaces',
      'keyhold_http_requests_total',
    ])
      expect(m.text).toContain(name);
  });

  it('opens the queue dashboard to the platform operator only', async () => {
    const anonymous = await stack.http.request('GET', '/admin/queues/api/queues');
    expect(anonymous.status).toBe(401);
    const t = await tenantWithAdmin(stack);
    const tenantAdmin = await stack.http.request('GET', '/admin/queues/api/queues', { token: t.token });
    expect(tenantAdmin.status).toBe(401);
    const operator = await stack.http.request('GET', '/admin/queues/api/queues', { token: stack.operatorToken });
    expect(operator.status).toBe(200);
    const names = (operator.body.queues as Array<{ name: string }>).map((q) => q.name);
    expect(names).toEqual(
      expect.arrayContaining(['keyhold-cmk-rewrap', 'keyhold-kek-rotation', 'keyhold-access-probe']),
    );
  });

  it('serves an OpenAPI 3.1 document covering every route', async () => {
    const doc = (await stack.http.get('/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    const documented = new Set<string>();
    for (const [p, ops] of Object.entries<Record<string, unknown>>(doc.paths))
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${p}`);
    const registered = new Set(
      stack.api.routes.map(
        (r) =>
          `${r.method} ${r.url
            .replace(/:(\w+)/g, '{$1}')
            .replace('deks:{batchGet}', 'deks:batchGet')
            .replace('deks::batchGet', 'deks:batchGet')}`,
      ),
    );
    expect([...documented].filter((e) => !registered.has(e))).toEqual([]);
    expect([...registered].filter((e) => !documented.has(e))).toEqual([]);
  });
});

describe('console', () => {
  let stack: TestStack;
  const dir = `${__dirname}/../../apps/console/dist`;
  const built = existsSync(`${dir}/index.html`);
  beforeAll(async () => {
    if (built) stack = await startStack({ config: { consoleDir: dir } });
  });
  afterAll(async () => stack?.close());

  (built ? it : it.skip)('serves the built console at / with an SPA fallback, and keeps API 404s as JSON', async () => {
    const index = await stack.http.request('GET', '/', { headers: { accept: 'text/html' } });
    expect(index.status).toBe(200);
    expect(index.text).toMatch(/<html/i);
    const deep = await stack.http.request('GET', '/workspaces/some-id', { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(deep.text).toBe(index.text);
    const api = await stack.http.request('GET', '/v1/nope', { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe('NOT_FOUND');
  });

  (built ? it : it.skip)(
    'sends the console with a strict CSP that forbids framing (its destructive buttons cannot be clickjacked)',
    async () => {
      for (const path of ['/', '/workspaces/some-id']) {
        const page = await stack.http.request('GET', path, { headers: { accept: 'text/html' } });
        const csp = page.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).toContain("default-src 'self'");
        expect(csp).toContain("script-src 'self'");
        expect(csp).not.toContain('unsafe-inline');
        expect(csp).not.toContain('unsafe-eval');
        expect(page.headers.get('x-frame-options')).toBe('DENY');
        expect(page.headers.get('x-content-type-options')).toBe('nosniff');
        expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      }
      const index = await stack.http.request('GET', '/', { headers: { accept: 'text/html' } });
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index.text)?.[1];
      expect(asset).toBeDefined();
      const js = await stack.http.request('GET', asset!);
      expect(js.status).toBe(200);
      expect(js.headers.get('content-type')).toMatch(/javascript/);
    },
  );

  (built ? it : it.skip)('never serves a file outside the built console', async () => {
    for (const path of [
      '/assets/../../../package.json',
      '/%2e%2e/%2e%2e/package.json',
      '/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
      '/..%5c..%5cpackage.json',
    ]) {
      const res = await stack.http.request('GET', path);
      expect(res.text).not.toContain('"name": "keyhold"');
      expect(res.status).toBe(404);
    }
  });
});
