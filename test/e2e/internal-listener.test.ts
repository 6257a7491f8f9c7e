import * as https from 'node:https';
import { buildConfig } from '../../libs/config/src';
import { AuthenticationError, KeyholdClient } from '../../packages/client/src';
import { awsBoundWorkspace, startStack, TestStack } from '../support/stack';
import { makeTestPki, Pem, TestPki } from '../support/tls-certs';

/**
 * The internal listener: the DEK API, the key-event stream, segment destruction, service tokens and /metrics are
 * served on their own port and nowhere else; with mutual TLS a client certificate is required, and a service
 * principal bound to one certificate is refused over any other.
 */
describe('internal listener (plain HTTP)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  it('listens on a port of its own, apart from the public one', () => {
    expect(stack.internalUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.internalUrl).not.toBe(stack.url);
  });

  it('the public listener answers 404 NOT_FOUND for every internal route and /metrics, with a valid service token', async () => {
    const w = await awsBoundWorkspace(stack);
    const destroyer = await w.principal(['dek:fetch', 'dek:destroy']);
    const pub = stack.publicHttp;
    const attempts = [
      await pub.get(w.dekPath('seg-1'), w.svc),
      await pub.post(w.batchPath, { segmentIds: ['seg-1'] }, w.svc),
      await pub.delete(w.dekPath('seg-1'), destroyer.token),
      await pub.get('/internal/v1/events', w.svc),
      await pub.get('/internal/v1/anything-else', w.svc),
      await pub.get('/metrics'),
      await pub.get('/metrics', stack.operatorToken),
    ];
    for (const r of attempts) {
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    }
    // nothing was issued or destroyed through the public listener: the segment gets its first DEK now, internally
    const dek = await stack.internalHttp.get(w.dekPath('seg-1'), w.svc);
    expect(dek.status).toBe(200);
    expect(dek.body.dekId).toMatch(/^[0-9a-f-]{36}$/);
    const again = await stack.internalHttp.post(w.batchPath, { segmentIds: ['seg-1'] }, w.svc);
    expect(again.body.deks[0].dekId).toBe(dek.body.dekId);
    const destroyed = await stack.internalHttp.delete(w.dekPath('seg-1'), destroyer.token);
    expect(destroyed.status).toBe(204);
    expect((await stack.internalHttp.get(w.dekPath('seg-1'), w.svc)).body.error.code).toBe('SEGMENT_DESTROYED');
    const metrics = await stack.internalHttp.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^# TYPE keyhold_/m);
  });

  it('the internal listener serves neither the admin API nor the console, and 404s unknown paths with a code', async () => {
    const w = await awsBoundWorkspace(stack);
    for (const path of [`/v1/tenants/${w.tenant.id}`, '/openapi.json', '/', '/dev/mailbox', '/admin/queues']) {
      const r = await stack.internalHttp.get(path, w.token);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    }
    const ready = await stack.internalHttp.get('/readyz');
    expect(ready.body.status).toBe('ready');
    expect((await stack.publicHttp.get('/readyz')).body.status).toBe('ready');
  });

  it('issues service tokens (client_credentials) but refuses the admins’ password grant', async () => {
    const w = await awsBoundWorkspace(stack);
    const sp = await stack.http.post(
      `${w.base}/service-principals`,
      { name: 'direct', workspaceIds: [w.wsId] },
      w.token,
    );
    const tok = await stack.internalHttp.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: sp.body.clientSecret,
    });
    expect(tok.status).toBe(200);
    expect(tok.headers.get('cache-control')).toBe('no-store');
    expect((await stack.internalHttp.get(w.dekPath('s'), tok.body.access_token)).status).toBe(200);
    const wrong = await stack.internalHttp.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: 'wrong',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('INVALID_CLIENT');
    const admin = await stack.internalHttp.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: w.tenant.id,
      username: w.email,
      password: w.password,
    });
    expect(admin.status).toBe(400);
    expect(admin.body.error.code).toBe('VALIDATION_FAILED');
    expect(admin.text).not.toContain('access_token');
    // Found by the fuzzer on the internal listener: an account name Postgres cannot hold as text (a NUL byte) was a 500.
    for (const http of [stack.internalHttp, stack.publicHttp])
      for (const client_id of ['\u0000', `a\u0000b`, `${sp.body.clientId}\u0000`]) {
        const odd = await http.post('/v1/auth/token', {
          grant_type: 'client_credentials',
          client_id,
          client_secret: 'x',
        });
        expect([odd.status, odd.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      }
    const nulUser = await stack.publicHttp.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: w.tenant.id,
      username: `${w.email}\u0000`,
      password: 'x',
    });
    expect([nulUser.status, nulUser.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const surrogate = await stack.internalHttp.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: '\ud800',
      client_secret: 'x',
    });
    expect([surrogate.status, surrogate.body.error.code]).toEqual([401, 'INVALID_CLIENT']);
    const malformed = await stack.internalHttp.request('POST', '/v1/auth/token', {
      raw: '{',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');
  });

  it('a key admin binds a principal to a client certificate; over plain HTTP (no certificate) its tokens are refused 401 CLIENT_CERTIFICATE_MISMATCH', async () => {
    const w = await awsBoundWorkspace(stack);
    const sp = await w.principal();
    const fp = 'ab'.repeat(32);
    const colons = fp.toUpperCase().match(/../g)!.join(':');
    const bad = await stack.http.request('PATCH', `${w.base}/service-principals/${sp.id}`, {
      token: w.token,
      body: { clientCertificateSha256: 'not-a-fingerprint' },
    });
    expect(bad.status).toBe(400);
    expect((await stack.internalHttp.get(w.dekPath('a'), sp.token)).status).toBe(200);
    const bound = await stack.http.request('PATCH', `${w.base}/service-principals/${sp.id}`, {
      token: w.token,
      body: { clientCertificateSha256: colons },
    });
    expect(bound.status).toBe(200);
    expect(bound.body.clientCertificateSha256).toBe(fp);
    const refused = await stack.internalHttp.get(w.dekPath('a'), sp.token);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('CLIENT_CERTIFICATE_MISMATCH');
    expect((await stack.internalHttp.post(w.batchPath, { segmentIds: ['a'] }, sp.token)).body.error.code).toBe(
      'CLIENT_CERTIFICATE_MISMATCH',
    );
    expect((await stack.internalHttp.get('/internal/v1/events', sp.token)).body.error.code).toBe(
      'CLIENT_CERTIFICATE_MISMATCH',
    );
    // an unbound principal of the same workspace is not affected; unbinding restores the bound one
    expect((await stack.internalHttp.get(w.dekPath('a'), w.svc)).status).toBe(200);
    const audit = await stack.http.get(`${w.base}/audit-events?limit=1000`, w.token);
    expect(JSON.stringify(audit.body)).toContain(fp);
    const unbound = await stack.http.request('PATCH', `${w.base}/service-principals/${sp.id}`, {
      token: w.token,
      body: { clientCertificateSha256: null },
    });
    expect(unbound.body.clientCertificateSha256).toBeNull();
    expect((await stack.internalHttp.get(w.dekPath('a'), sp.token)).status).toBe(200);
  });
});

describe('internal listener configuration', () => {
  const base = { mode: 'test' as const, operatorToken: 'o'.repeat(40), tokenSecret: 's'.repeat(40) };
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });

  it('defaults to 127.0.0.1:3001 without TLS; TLS material is PEM text or a file, checked at boot', () => {
    const c = buildConfig(base);
    expect(c.internal).toEqual({ host: '127.0.0.1', port: 3001, tls: null });
    const tls = buildConfig({
      ...base,
      internalTlsCert: pki.server.cert,
      internalTlsKey: pki.server.key,
      internalTlsCa: pki.ca.cert,
    });
    expect(tls.internal.tls?.ca).toContain('BEGIN CERTIFICATE');
    expect(() => buildConfig({ ...base, internalTlsCert: pki.server.cert })).toThrow(
      /KEYHOLD_INTERNAL_TLS_CERT and KEYHOLD_INTERNAL_TLS_KEY must be set together/,
    );
    expect(() => buildConfig({ ...base, internalTlsCa: pki.ca.cert })).toThrow(/KEYHOLD_INTERNAL_TLS_CA needs/);
    expect(() => buildConfig({ ...base, internalTlsCert: pki.server.cert, internalTlsKey: pki.clientA.key })).toThrow(
      /KEYHOLD_INTERNAL_TLS_KEY is not the private key/,
    );
    expect(() =>
      buildConfig({ ...base, internalTlsCert: '/nonexistent/cert.pem', internalTlsKey: pki.server.key }),
    ).toThrow(/KEYHOLD_INTERNAL_TLS_CERT must be PEM text or the path/);
    expect(() => buildConfig({ ...base, port: 3001 })).toThrow(/KEYHOLD_INTERNAL_PORT must differ from PORT/);
  });
});

describe('internal listener with mutual TLS', () => {
  let stack: TestStack;
  let pki: TestPki;
  let host: string;
  let port: number;
  beforeAll(async () => {
    pki = makeTestPki();
    stack = await startStack({
      config: { internalTlsCert: pki.server.cert, internalTlsKey: pki.server.key, internalTlsCa: pki.ca.cert },
    });
    const u = new URL(stack.internalUrl);
    host = u.hostname;
    port = Number(u.port);
  });
  afterAll(async () => stack?.close());

  /** One HTTPS request to the internal listener, presenting `client` (or no certificate). */
  const call = (method: string, path: string, opts: { client?: Pem; token?: string; body?: unknown } = {}) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      const req = https.request(
        {
          host,
          port,
          path,
          method,
          ca: pki.ca.cert,
          ...(opts.client ? { cert: opts.client.cert, key: opts.client.key } : {}),
          agent: false,
          headers: {
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  it('speaks HTTPS and requires a client certificate from its CA: none, or another CA’s, fails the handshake', async () => {
    expect(stack.internalUrl).toMatch(/^https:\/\//);
    expect((await call('GET', '/readyz', { client: pki.clientA })).body.status).toBe('ready');
    await expect(call('GET', '/readyz')).rejects.toThrow();
    await expect(call('GET', '/readyz', { client: pki.rogue })).rejects.toThrow();
    // plain HTTP to the TLS port gets nothing useful either
    const plain = await fetch(stack.internalUrl.replace('https:', 'http:') + '/readyz').then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
  });

  it('a principal bound to certificate A is served over A and refused 401 CLIENT_CERTIFICATE_MISMATCH over B; unbound principals use any CA certificate', async () => {
    const w = await awsBoundWorkspace(stack);
    const sp = await w.principal();
    const path = w.dekPath('mtls-1');
    expect((await call('GET', path, { client: pki.clientB, token: sp.token })).status).toBe(200);
    const bind = await stack.http.request('PATCH', `${w.base}/service-principals/${sp.id}`, {
      token: w.token,
      body: { clientCertificateSha256: pki.clientA.sha256 },
    });
    expect(bind.status).toBe(200);
    const overA = await call('GET', path, { client: pki.clientA, token: sp.token });
    expect(overA.status).toBe(200);
    const overB = await call('GET', path, { client: pki.clientB, token: sp.token });
    expect(overB.status).toBe(401);
    expect(overB.body.error.code).toBe('CLIENT_CERTIFICATE_MISMATCH');
    const batchB = await call('POST', w.batchPath, {
      client: pki.clientB,
      token: sp.token,
      body: { segmentIds: ['mtls-1'] },
    });
    expect(batchB.body.error.code).toBe('CLIENT_CERTIFICATE_MISMATCH');
    expect(
      (await call('POST', w.batchPath, { client: pki.clientA, token: sp.token, body: { segmentIds: ['mtls-1'] } })).body
        .deks[0].dekId,
    ).toBe(overA.body.dekId);
    // the unbound principal of the same workspace still works over B
    expect((await call('GET', path, { client: pki.clientB, token: w.svc })).status).toBe(200);
    // the token endpoint is on this listener too, over the same mutual TLS
    const fresh = await stack.http.post(
      `${w.base}/service-principals`,
      { name: 'via-mtls', workspaceIds: [w.wsId] },
      w.token,
    );
    const tok = await call('POST', '/v1/auth/token', {
      client: pki.clientB,
      body: {
        grant_type: 'client_credentials',
        client_id: fresh.body.clientId,
        client_secret: fresh.body.clientSecret,
      },
    });
    expect(tok.status).toBe(200);
    expect((await call('GET', path, { client: pki.clientB, token: tok.body.access_token })).status).toBe(200);
  });

  it('@keyhold/client speaks mutual TLS (`tls` option): a bound principal works with its certificate, event stream included, and is refused with another', async () => {
    const w = await awsBoundWorkspace(stack);
    const sp = await stack.http.post(
      `${w.base}/service-principals`,
      { name: 'client-mtls', workspaceIds: [w.wsId] },
      w.token,
    );
    await stack.http.request('PATCH', `${w.base}/service-principals/${sp.body.id}`, {
      token: w.token,
      body: { clientCertificateSha256: pki.clientA.sha256 },
    });
    const make = (client: Pem, events = true) =>
      new KeyholdClient({
        baseUrl: stack.internalUrl,
        clientId: sp.body.clientId,
        clientSecret: sp.body.clientSecret,
        tls: { cert: client.cert, key: client.key, ca: pki.ca.cert },
        events,
        retry: { deadlineMs: 2_000 },
      });
    const good = make(pki.clientA);
    try {
      await good.ready();
      const blob = await good.encrypt({ workspaceId: w.wsId, segmentId: 'client-mtls', plaintext: 'over mutual TLS' });
      expect((await good.decrypt(blob, { expect: { workspaceId: w.wsId } })).toString()).toBe('over mutual TLS');
      expect(good.eventsConnected).toBe(true);
    } finally {
      await good.close();
    }
    const wrong = make(pki.clientB, false);
    try {
      const err = await wrong
        .encrypt({ workspaceId: w.wsId, segmentId: 'client-mtls', plaintext: 'x' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).code).toBe('CLIENT_CERTIFICATE_MISMATCH');
    } finally {
      await wrong.close();
    }
  });
});
