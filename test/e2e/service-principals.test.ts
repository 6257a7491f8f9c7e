import { randomBytes } from 'node:crypto';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { inviteUser } from '../../apps/api/src/dev/onboarding-client';

/**
 * Service-principal credentials can be taken back: disable/enable, delete, rotate the secret with an overlap the
 * admin chooses, revoke one secret, narrow the workspace scope and restrict the source addresses. Every change is
 * checked the way an attacker holding the old credential would try it: the already-issued access token on the
 * DEK API and a fresh token request with the old secret.
 */
describe('service principal lifecycle', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  async function setup() {
    const t = await tenantWithAdmin(stack);
    const vendor = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
    const roleName = `r-${randomBytes(4).toString('hex')}`;
    const roleArn = await stack.aws.createRole(roleName, vendor, t.tenant.aws.externalId);
    const keyArn = await stack.aws.createKey(roleArn, roleName);
    const base = `/v1/tenants/${t.tenant.id}`;
    const kc = await stack.http.post(
      `${base}/key-configurations`,
      { name: 'k', provider: 'aws', aws: { keyArn, roleArn } },
      t.token,
    );
    expect(kc.body.status).toBe('valid');
    const ws: string[] = [];
    for (const name of ['w1', 'w2']) {
      const w = await stack.http.post(`${base}/workspaces`, { name }, t.token);
      expect(
        (
          await stack.http.put(
            `${base}/workspaces/${w.body.id}/key-binding`,
            { keyConfigurationId: kc.body.id },
            t.token,
          )
        ).status,
      ).toBe(200);
      ws.push(w.body.id);
    }
    const sp = await stack.http.post(`${base}/service-principals`, { name: 'ingest', workspaceIds: ws }, t.token);
    expect(sp.status).toBe(201);
    const aud = await inviteUser(stack.url, t.token, t.tenant.id, {
      email: `aud-${randomBytes(3).toString('hex')}@example.com`,
      role: 'auditor',
    });
    return {
      ...t,
      base,
      ws,
      auditor: aud.token,
      spId: sp.body.id as string,
      clientId: sp.body.clientId as string,
      secret: sp.body.clientSecret as string,
      spPath: `${base}/service-principals/${sp.body.id}`,
      dekPath: (w: string, seg = 'seg-1') => `/internal/v1/workspaces/${w}/segments/${seg}/dek`,
    };
  }

  const token = (clientId: string, secret: string) =>
    stack.http.post('/v1/auth/token', { grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
  const patch = (path: string, body: unknown, tok: string) => stack.http.request('PATCH', path, { token: tok, body });

  it('disable refuses the issued token and new token requests at once; enable restores new tokens, never the old ones', async () => {
    const s = await setup();
    const svc = (await token(s.clientId, s.secret)).body.access_token as string;
    expect((await stack.http.get(s.dekPath(s.ws[0]), svc)).status).toBe(200);

    const off = await patch(s.spPath, { disabled: true }, s.token);
    expect(off.status).toBe(200);
    expect(off.body.disabled).toBe(true);
    const replay = await stack.http.get(s.dekPath(s.ws[0]), svc);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('UNAUTHENTICATED');
    expect((await token(s.clientId, s.secret)).status).toBe(401);

    expect((await patch(s.spPath, { disabled: false }, s.token)).status).toBe(200);
    // Enabling again does not revive the tokens that were out when it was disabled.
    expect((await stack.http.get(s.dekPath(s.ws[0]), svc)).status).toBe(401);
    const again = await token(s.clientId, s.secret);
    expect(again.status).toBe(200);
    expect((await stack.http.get(s.dekPath(s.ws[0]), again.body.access_token)).status).toBe(200);
  });

  it('GET shows the principal and its secrets (ids and expiry, never a hash); auditors read, cannot change; other tenants get 404', async () => {
    const s = await setup();
    const other = await tenantWithAdmin(stack);
    const got = await stack.http.get(s.spPath, s.auditor);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: s.spId,
      name: 'ingest',
      clientId: s.clientId,
      disabled: false,
      ipAllowList: [],
    });
    expect([...got.body.workspaceIds].sort()).toEqual([...s.ws].sort());
    expect(got.body.secrets).toHaveLength(1);
    expect(Object.keys(got.body.secrets[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id']);
    expect(got.text).not.toContain(s.secret);
    expect(got.text).not.toMatch(/scrypt|\$/);

    expect((await patch(s.spPath, { disabled: true }, s.auditor)).status).toBe(403);
    expect((await stack.http.delete(s.spPath, s.auditor)).status).toBe(403);
    expect((await stack.http.post(`${s.spPath}/secrets`, { overlapSeconds: 0 }, s.auditor)).status).toBe(403);

    // another tenant's admin, on its own tenant path with this tenant's principal id, and on this tenant's path
    const foreign = `/v1/tenants/${other.tenant.id}/service-principals/${s.spId}`;
    for (const [m, p, b] of [
      ['GET', foreign, undefined],
      ['PATCH', foreign, { disabled: true }],
      ['DELETE', foreign, undefined],
      ['POST', `${foreign}/secrets`, { overlapSeconds: 0 }],
      ['DELETE', `${foreign}/secrets/${got.body.secrets[0].id}`, undefined],
      ['GET', s.spPath, undefined],
    ] as const) {
      const r = await stack.http.request(m, p, { token: other.token, body: b });
      expect([m, p, r.status]).toEqual([m, p, 404]);
    }
    // nothing changed
    expect((await token(s.clientId, s.secret)).status).toBe(200);
  });

  it('rotation with an overlap: both secrets work until the overlap ends, then the old one and its tokens stop', async () => {
    const s = await setup();
    const oldTok = (await token(s.clientId, s.secret)).body.access_token as string;
    const rot = await stack.http.post(`${s.spPath}/secrets`, { overlapSeconds: 3 }, s.token);
    expect(rot.status).toBe(201);
    expect(rot.body.clientSecret).toEqual(expect.any(String));
    expect(rot.body.clientSecret).not.toBe(s.secret);
    expect(rot.body.clientId).toBe(s.clientId);
    // during the overlap: both secrets issue tokens, the old token works
    expect((await token(s.clientId, s.secret)).status).toBe(200);
    const newTok = (await token(s.clientId, rot.body.clientSecret)).body.access_token as string;
    expect((await stack.http.get(s.dekPath(s.ws[0]), oldTok)).status).toBe(200);
    expect((await stack.http.get(s.spPath, s.token)).body.secrets).toHaveLength(2);
    const endsAt = Date.parse(rot.body.previousSecretsExpireAt);
    expect(endsAt - Date.now()).toBeLessThanOrEqual(3_000);
    await new Promise((r) => setTimeout(r, Math.max(0, endsAt - Date.now()) + 50));
    expect((await token(s.clientId, s.secret)).status).toBe(401);
    expect((await stack.http.get(s.dekPath(s.ws[0]), oldTok)).status).toBe(401);
    expect((await stack.http.get(s.dekPath(s.ws[0]), newTok)).status).toBe(200);
    expect((await token(s.clientId, rot.body.clientSecret)).status).toBe(200);
  });

  it('rotation with overlap 0 and revoking one secret take effect at once', async () => {
    const s = await setup();
    const oldTok = (await token(s.clientId, s.secret)).body.access_token as string;
    const rot = await stack.http.post(`${s.spPath}/secrets`, { overlapSeconds: 0 }, s.token);
    expect(rot.status).toBe(201);
    expect((await stack.http.get(s.dekPath(s.ws[0]), oldTok)).status).toBe(401);
    expect((await token(s.clientId, s.secret)).status).toBe(401);

    const newTok = (await token(s.clientId, rot.body.clientSecret)).body.access_token as string;
    expect((await stack.http.get(s.dekPath(s.ws[0]), newTok)).status).toBe(200);
    const del = await stack.http.delete(`${s.spPath}/secrets/${rot.body.secretId}`, s.token);
    expect(del.status).toBe(204);
    expect((await stack.http.get(s.dekPath(s.ws[0]), newTok)).status).toBe(401);
    expect((await token(s.clientId, rot.body.clientSecret)).status).toBe(401);
    expect((await stack.http.delete(`${s.spPath}/secrets/${rot.body.secretId}`, s.token)).status).toBe(404);
  });

  it('narrowing the scope refuses the dropped workspace at once; a workspace of another tenant is refused', async () => {
    const s = await setup();
    const other = await tenantWithAdmin(stack);
    const ow = await stack.http.post(`/v1/tenants/${other.tenant.id}/workspaces`, { name: 'theirs' }, other.token);
    const svc = (await token(s.clientId, s.secret)).body.access_token as string;
    for (const w of s.ws) expect((await stack.http.get(s.dekPath(w), svc)).status).toBe(200);
    const narrowed = await patch(s.spPath, { workspaceIds: [s.ws[0]] }, s.token);
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.workspaceIds).toEqual([s.ws[0]]);
    expect((await stack.http.get(s.dekPath(s.ws[1]), svc)).status).toBe(404);
    expect((await stack.http.get(s.dekPath(s.ws[0]), svc)).status).toBe(200);
    const bad = await patch(s.spPath, { workspaceIds: [s.ws[0], ow.body.id] }, s.token);
    expect(bad.status).toBe(404);
    expect(bad.body.error.code).toBe('WORKSPACE_NOT_FOUND');
    expect((await stack.http.get(s.spPath, s.token)).body.workspaceIds).toEqual([s.ws[0]]);
  });

  it('delete: the principal is gone, its token and secret stop at once', async () => {
    const s = await setup();
    const svc = (await token(s.clientId, s.secret)).body.access_token as string;
    expect((await stack.http.get(s.dekPath(s.ws[0]), svc)).status).toBe(200);
    expect((await stack.http.delete(s.spPath, s.token)).status).toBe(204);
    expect((await stack.http.get(s.dekPath(s.ws[0]), svc)).status).toBe(401);
    expect((await token(s.clientId, s.secret)).status).toBe(401);
    expect((await stack.http.get(s.spPath, s.token)).status).toBe(404);
    expect((await stack.http.delete(s.spPath, s.token)).status).toBe(404);
  });

  it('an IP allow-list refuses token requests and DEK requests from other addresses', async () => {
    const s = await setup();
    const svc = (await token(s.clientId, s.secret)).body.access_token as string;
    const set = await patch(s.spPath, { ipAllowList: ['10.0.0.0/8', '2001:db8::/32'] }, s.token);
    expect(set.status).toBe(200);
    expect(set.body.ipAllowList).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect((await stack.http.get(s.dekPath(s.ws[0]), svc)).status).toBe(403);
    expect((await token(s.clientId, s.secret)).status).toBe(401);
    expect((await patch(s.spPath, { ipAllowList: ['127.0.0.1/32'] }, s.token)).status).toBe(200);
    expect((await stack.http.get(s.dekPath(s.ws[0]), svc)).status).toBe(200);
    expect((await token(s.clientId, s.secret)).status).toBe(200);
    for (const bad of [['10.0.0.0/33'], ['not-an-ip'], ['10.0.0.1/8'], Array(101).fill('10.0.0.0/8')]) {
      const r = await patch(s.spPath, { ipAllowList: bad }, s.token);
      expect([bad[0], r.status, r.body?.error?.code]).toEqual([bad[0], 400, 'VALIDATION_FAILED']);
    }
  });

  it('refuses bad input with 400 and a stable code; changes nothing', async () => {
    const s = await setup();
    for (const body of [{}, { disabled: 'yes' }, { name: '' }, { workspaceIds: ['x'] }, { extra: 1 }]) {
      const r = await patch(s.spPath, body, s.token);
      expect([JSON.stringify(body), r.status, r.body?.error?.code]).toEqual([
        JSON.stringify(body),
        400,
        'VALIDATION_FAILED',
      ]);
    }
    for (const body of [
      {},
      { overlapSeconds: -1 },
      { overlapSeconds: 7 * 86_400 + 1 },
      { overlapSeconds: 1.5 },
      { overlapSeconds: '60' },
    ]) {
      const r = await stack.http.post(`${s.spPath}/secrets`, body, s.token);
      expect([JSON.stringify(body), r.status, r.body?.error?.code]).toEqual([
        JSON.stringify(body),
        400,
        'VALIDATION_FAILED',
      ]);
    }
    expect((await stack.http.get(`${s.base}/service-principals/not-a-uuid`, s.token)).status).toBe(404);
    expect((await stack.http.delete(`${s.spPath}/secrets/not-a-uuid`, s.token)).status).toBe(404);
    const got = await stack.http.get(s.spPath, s.token);
    expect(got.body.secrets).toHaveLength(1);
    expect(got.body.disabled).toBe(false);
  });

  it('audits every change with actor and principal, never the secret', async () => {
    const s = await setup();
    await patch(s.spPath, { name: 'ingest-2', disabled: true, workspaceIds: [s.ws[0]] }, s.token);
    const rot = await stack.http.post(`${s.spPath}/secrets`, { overlapSeconds: 60 }, s.token);
    await stack.http.delete(`${s.spPath}/secrets/${rot.body.secretId}`, s.token);
    await stack.http.delete(s.spPath, s.token);
    const events = (await stack.http.get(`${s.base}/audit-events?limit=1000`, s.token)).body.events as Array<{
      action: string;
      actor: string;
      target: string;
    }>;
    const mine = events.filter((e) => e.target === `service_principal:${s.spId}`);
    expect(mine.map((e) => e.action)).toEqual([
      'service_principal.created',
      'service_principal.updated',
      'service_principal.secret_rotated',
      'service_principal.secret_revoked',
      'service_principal.deleted',
    ]);
    for (const e of mine) expect(e.actor).toMatch(/^admin:/);
    const all = JSON.stringify(events);
    expect(all).not.toContain(s.secret);
    expect(all).not.toContain(rot.body.clientSecret);
  });
});
