import { randomBytes } from 'node:crypto';
import { onboardTenant } from '../../apps/api/src/dev/onboarding-client';
import { startStack, TestStack } from '../support/stack';

/** The token endpoint's limits: normalised buckets, trusted proxies, backoff an outsider cannot hold, equal cost. */
describe('token endpoint', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({
      config: { tokenRatePerIpPerMinute: 1000, tokenRatePerPrincipalPerMinute: 40, trustedProxies: '127.0.0.1' },
    });
  });
  afterAll(async () => stack?.close());

  const onboard = () =>
    onboardTenant(stack.url, stack.operatorToken, {
      name: `t-${randomBytes(3).toString('hex')}`,
      email: `a-${randomBytes(4).toString('hex')}@example.com`,
    });
  const guess = (
    tenantId: string,
    username: string,
    ip: string,
    password = `guess-${randomBytes(4).toString('hex')}`,
  ) =>
    stack.http.request('POST', '/v1/auth/token', {
      body: { grant_type: 'password', tenant_id: tenantId, username, password },
      headers: { 'x-forwarded-for': ip },
    });

  it('case variants of a tenant id share one bucket', async () => {
    const a = await onboard();
    const variants = [a.tenant.id, a.tenant.id.toUpperCase()];
    let limited = false;
    for (let i = 0; i < 12 && !limited; i++)
      limited = (await guess(variants[i % 2], a.email, '203.0.113.7')).status === 429;
    expect(limited).toBe(true);
    // ... and an upper-case variant does not open a fresh bucket either.
    expect((await guess(a.tenant.id.toUpperCase(), a.email.toUpperCase(), '203.0.113.7')).status).toBe(429);
  });

  it('per-client buckets use X-Forwarded-For from a trusted proxy; an attacker cannot hold the owner at 429', async () => {
    const a = await onboard();
    // The owner signs in once from home (a known-good address for this account).
    expect((await guess(a.tenant.id, a.email, '198.51.100.1', a.password)).status).toBe(200);
    // An attacker hammers from many addresses until they are delayed.
    let attacker429 = 0;
    for (let i = 0; i < 80; i++)
      if ((await guess(a.tenant.id, a.email, `192.0.2.${(i % 8) + 1}`)).status === 429) attacker429++;
    expect(attacker429).toBeGreaterThan(0);
    // The owner, from their own address with the right password, still gets in.
    expect((await guess(a.tenant.id, a.email, '198.51.100.1', a.password)).status).toBe(200);
    // From the attacker's own address even the right password waits (the limiter must not reveal a right guess).
    // Delays are short at first and a slow machine can outlive one between two requests: keep guessing until a
    // wrong guess is held at 429, and check that the right password sent at once is held too.
    let rightPasswordHeld = false;
    for (let i = 0; i < 60 && !rightPasswordHeld; i++) {
      const r = await guess(a.tenant.id, a.email, '192.0.2.1');
      if (r.status !== 429) continue;
      rightPasswordHeld = (await guess(a.tenant.id, a.email, '192.0.2.1', a.password)).status === 429;
    }
    expect(rightPasswordHeld).toBe(true);
  });

  it('unknown client ids cost what known ones do', async () => {
    const a = await onboard();
    const ws = await stack.http.post(`/v1/tenants/${a.tenant.id}/workspaces`, { name: 'w' }, a.token);
    const sp = await stack.http.post(
      `/v1/tenants/${a.tenant.id}/service-principals`,
      { name: 's', workspaceIds: [ws.body.id] },
      a.token,
    );
    const time = async (clientId: string, i: number) => {
      const t0 = process.hrtime.bigint();
      const r = await stack.http.request('POST', '/v1/auth/token', {
        body: { grant_type: 'client_credentials', client_id: clientId, client_secret: 'wrong' },
        headers: { 'x-forwarded-for': `10.9.${i}.1` },
      });
      expect(r.status).toBe(401);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 10; i++) {
      known.push(await time(sp.body.clientId, i));
      unknown.push(await time(`kh_unknown_${randomBytes(8).toString('hex')}`, 100 + i));
    }
    const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
    const ratio = med(unknown) / med(known);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it('unknown tenants and emails cost what a known account with a wrong password does', async () => {
    const a = await onboard();
    const time = async (tenantId: string, username: string, i: number) => {
      const t0 = process.hrtime.bigint();
      const r = await guess(tenantId, username, `10.8.${i}.1`);
      expect(r.status).toBe(400);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 8; i++) {
      known.push(await time(a.tenant.id, a.email, i));
      unknown.push(
        await time(i % 2 ? a.tenant.id : '6f1c1e0e-0000-4000-8000-000000000000', `nobody-${i}@example.com`, 100 + i),
      );
    }
    const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
    const ratio = med(unknown) / med(known);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    const s2 = await startStack({ config: { tokenRatePerIpPerMinute: 3, tokenRatePerPrincipalPerMinute: 1000 } });
    try {
      let limited = false;
      for (let i = 0; i < 6 && !limited; i++)
        limited =
          (
            await s2.http.request('POST', '/v1/auth/token', {
              body: { grant_type: 'client_credentials', client_id: `c${i}`, client_secret: 'x' },
              headers: { 'x-forwarded-for': `10.0.0.${i}` },
            })
          ).status === 429;
      expect(limited).toBe(true);
    } finally {
      await s2.close();
    }
  });
});
