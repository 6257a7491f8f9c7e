import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { type ApiApp } from '../../apps/api/src/app';
import { startApi } from '../../stack';
import {
  adminToken,
  inviteUser,
  mailboxToken,
  newTestPassword,
  onboardTenant,
  WebhookMailCapture,
} from '../../apps/api/src/dev/onboarding-client';
import { HttpClient, startStack, TestStack } from '../support/stack';

/**
 * Who can act for a tenant: onboarding without a vendor-known secret, invitations, password change and reset,
 * admin user management with immediate session revocation on every replica.
 */
describe('credentials', () => {
  let stack: TestStack;
  let replicaB: ApiApp;
  let httpB: HttpClient;
  beforeAll(async () => {
    stack = await startStack();
    // A second API replica on the same database, Redis prefix and token key (a load-balanced deployment).
    replicaB = await startApi(stack.config);
    httpB = new HttpClient(replicaB.url, replicaB.internalUrl);
  });
  afterAll(async () => {
    await replicaB?.close();
    await stack?.close();
  });

  const unique = () => randomBytes(4).toString('hex');
  const onboard = (email = `admin-${unique()}@example.com`) =>
    onboardTenant(stack.url, stack.operatorToken, { name: `t-${unique()}`, email });

  it('refuses an operator-chosen password with a code', async () => {
    const r = await stack.http.post(
      '/v1/tenants',
      { name: `t-${unique()}`, admin: { email: `a-${unique()}@example.com`, password: 'p'.repeat(20) } },
      stack.operatorToken,
    );
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('PASSWORD_NOT_ACCEPTED');
  });

  it('onboards through a mailed one-time invitation the operator never sees', async () => {
    const email = `first-${unique()}@example.com`;
    const created = await stack.http.post(
      '/v1/tenants',
      { name: `t-${unique()}`, admin: { email } },
      stack.operatorToken,
    );
    expect(created.status).toBe(201);
    expect(created.body.invitation).toEqual({
      id: expect.any(String),
      email,
      role: 'key_admin',
      expiresAt: expect.any(String),
    });
    const expires = Date.parse(created.body.invitation.expiresAt) - Date.now();
    expect(expires).toBeGreaterThan(71 * 3600_000);
    expect(expires).toBeLessThanOrEqual(72 * 3600_000);
    const token = await mailboxToken(stack.url, email, 'invitation');
    expect(created.text).not.toContain(token);
    // Stored only as a hash.
    const stored = await stack.api.services.ds.query(
      `SELECT encode(token_hash, 'hex') AS h FROM one_time_links WHERE id = $1`,
      [created.body.invitation.id],
    );
    expect(stored[0].h).not.toContain(Buffer.from(token).toString('hex'));
    // Nothing the operator saw accepts it.
    for (const guess of [created.body.invitation.id, created.body.id, stack.operatorToken])
      expect(
        (await stack.http.post('/v1/invitations/accept', { token: guess, password: newTestPassword() })).status,
      ).toBe(404);
    // Weak passwords are refused with a code, and do not consume the invitation.
    const weak = await stack.http.post('/v1/invitations/accept', { token, password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.error.code).toBe('PASSWORD_TOO_WEAK');
    const password = newTestPassword();
    const ok = await stack.http.post('/v1/invitations/accept', { token, password });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ tenantId: created.body.id, role: 'key_admin', email });
    // Single use.
    const again = await stack.http.post('/v1/invitations/accept', { token, password: newTestPassword() });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('INVITATION_NOT_FOUND');
    expect(await adminToken(stack.url, created.body.id, email, password)).toMatch(/\./);
  });

  it('invites, lists and revokes invitations; an expired or revoked one cannot be accepted', async () => {
    const a = await onboard();
    const base = `/v1/tenants/${a.tenant.id}`;
    const auditor = await inviteUser(stack.url, a.token, a.tenant.id, {
      email: `aud-${unique()}@example.com`,
      role: 'auditor',
    });
    expect((await stack.http.get(`${base}/workspaces`, auditor.token)).status).toBe(200);
    expect(
      (
        await stack.http.post(
          `${base}/invitations`,
          { email: `x-${unique()}@example.com`, role: 'auditor' },
          auditor.token,
        )
      ).status,
    ).toBe(403);
    const email = `later-${unique()}@example.com`;
    const inv = await stack.http.post(`${base}/invitations`, { email, role: 'key_admin' }, a.token);
    expect(inv.status).toBe(201);
    expect(Object.keys(inv.body).sort()).toEqual(['email', 'expiresAt', 'id', 'role']);
    const list = await stack.http.get(`${base}/invitations`, a.token);
    expect(list.body.invitations.map((i: { email: string; state: string }) => [i.email, i.state])).toEqual(
      expect.arrayContaining([
        [email, 'pending'],
        [auditor.email, 'accepted'],
      ]),
    );
    const token = await mailboxToken(stack.url, email, 'invitation');
    expect((await stack.http.delete(`${base}/invitations/${inv.body.id}`, a.token)).status).toBe(204);
    expect((await stack.http.post('/v1/invitations/accept', { token, password: newTestPassword() })).status).toBe(404);
    // Expired
    const email2 = `exp-${unique()}@example.com`;
    const inv2 = await stack.http.post(`${base}/invitations`, { email: email2, role: 'auditor' }, a.token);
    const token2 = await mailboxToken(stack.url, email2, 'invitation');
    await stack.api.services.ds.query(
      `UPDATE one_time_links SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [inv2.body.id],
    );
    expect(
      (await stack.http.post('/v1/invitations/accept', { token: token2, password: newTestPassword() })).status,
    ).toBe(404);
    // Audited: who invited whom.
    const audit = await stack.http.get(`${base}/audit-events?limit=1000`, a.token);
    const actions = audit.body.events.map((e: { action: string; actor: string }) => `${e.actor} ${e.action}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        `admin:${(JSON.parse(Buffer.from(a.token.split('.')[1], 'base64url').toString()) as { sub: string }).sub} invitation.created`,
        `admin:${auditor.id} invitation.accepted`,
      ]),
    );
  });

  it('changes a password only with the current one, and revokes older sessions', async () => {
    const a = await onboard();
    const base = `/v1/tenants/${a.tenant.id}`;
    const wrong = await stack.http.post(
      `${base}/me/password`,
      { currentPassword: 'not-it-at-all', newPassword: newTestPassword() },
      a.token,
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('INVALID_CURRENT_PASSWORD');
    const next = newTestPassword();
    expect(
      (await stack.http.post(`${base}/me/password`, { currentPassword: a.password, newPassword: next }, a.token))
        .status,
    ).toBe(204);
    expect((await stack.http.get(`${base}/workspaces`, a.token)).status).toBe(401);
    expect(
      (
        await stack.http.post('/v1/auth/token', {
          grant_type: 'password',
          tenant_id: a.tenant.id,
          username: a.email,
          password: a.password,
        })
      ).status,
    ).toBe(400);
    await adminToken(stack.url, a.tenant.id, a.email, next);
  });

  it('resets a password by a mailed link; the request answers the same whether or not the account exists', async () => {
    const a = await onboard();
    const known = await stack.http.post('/v1/password-resets', { tenant_id: a.tenant.id, email: a.email });
    const unknown = await stack.http.post('/v1/password-resets', {
      tenant_id: a.tenant.id,
      email: `nobody-${unique()}@example.com`,
    });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(unknown.text).toBe(known.text);
    const token = await mailboxToken(stack.url, a.email, 'password_reset');
    const next = newTestPassword();
    expect((await stack.http.post('/v1/password-resets/complete', { token, password: next })).status).toBe(204);
    expect((await stack.http.post('/v1/password-resets/complete', { token, password: newTestPassword() })).status).toBe(
      404,
    );
    expect((await stack.http.get(`/v1/tenants/${a.tenant.id}/workspaces`, a.token)).status).toBe(401);
    await adminToken(stack.url, a.tenant.id, a.email, next);
    // Equal timing: the answer does not wait for the lookup or the scrypt work.
    const time = async (email: string) => {
      const t0 = process.hrtime.bigint();
      await stack.http.post('/v1/password-resets', { tenant_id: a.tenant.id, email });
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const k: number[] = [];
    const u: number[] = [];
    for (let i = 0; i < 6; i++) {
      k.push(await time(a.email));
      u.push(await time(`nobody-${i}@example.com`));
    }
    const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
    expect(Math.abs(med(k) - med(u))).toBeLessThan(15);
  });

  it('lists, re-roles, disables and deletes admin users; every change revokes sessions on every replica within 2 s', async () => {
    const a = await onboard();
    const base = `/v1/tenants/${a.tenant.id}`;
    const b = await inviteUser(stack.url, a.token, a.tenant.id, {
      email: `b-${unique()}@example.com`,
      role: 'key_admin',
    });
    const list = await stack.http.get(`${base}/admin-users`, a.token);
    expect(list.status).toBe(200);
    expect(
      list.body.adminUsers
        .map((u: { email: string; role: string; disabled: boolean }) => [u.email, u.role, u.disabled])
        .sort(),
    ).toEqual(
      [
        [a.email, 'key_admin', false],
        [b.email, 'key_admin', false],
      ].sort(),
    );
    // b's token is verified (and cached) on both replicas.
    expect((await stack.http.get(`${base}/workspaces`, b.token)).status).toBe(200);
    expect((await httpB.get(`${base}/workspaces`, b.token)).status).toBe(200);
    const t0 = Date.now();
    const disabled = await stack.http.request('PATCH', `${base}/admin-users/${b.id}`, {
      token: a.token,
      body: { disabled: true },
    });
    expect(disabled.status).toBe(200);
    let refusedAt = 0;
    while (Date.now() - t0 < 5000) {
      if ((await httpB.get(`${base}/workspaces`, b.token)).status === 401) {
        refusedAt = Date.now();
        break;
      }
    }
    expect(refusedAt).toBeGreaterThan(0);
    expect(refusedAt - t0).toBeLessThanOrEqual(2000);
    expect(
      (
        await stack.http.post('/v1/auth/token', {
          grant_type: 'password',
          tenant_id: a.tenant.id,
          username: b.email,
          password: b.password,
        })
      ).status,
    ).toBe(400);
    // Re-enable, then a role change also revokes.
    expect(
      (await stack.http.request('PATCH', `${base}/admin-users/${b.id}`, { token: a.token, body: { disabled: false } }))
        .body.disabled,
    ).toBe(false);
    const b2 = await adminToken(stack.url, a.tenant.id, b.email, b.password);
    const re = await stack.http.request('PATCH', `${base}/admin-users/${b.id}`, {
      token: a.token,
      body: { role: 'auditor' },
    });
    expect(re.body.role).toBe('auditor');
    expect((await httpB.get(`${base}/workspaces`, b2)).status).toBe(401);
    const b3 = await adminToken(stack.url, a.tenant.id, b.email, b.password);
    expect((await stack.http.post(`${base}/workspaces`, { name: 'x' }, b3)).status).toBe(403);
    // Delete.
    expect((await stack.http.delete(`${base}/admin-users/${b.id}`, a.token)).status).toBe(204);
    expect((await httpB.get(`${base}/workspaces`, b3)).status).toBe(401);
    // The last enabled key admin cannot be removed, disabled or demoted.
    const me = list.body.adminUsers.find((u: { email: string }) => u.email === a.email).id as string;
    for (const [method, body] of [
      ['DELETE', undefined],
      ['PATCH', { disabled: true }],
      ['PATCH', { role: 'auditor' }],
    ] as const) {
      const r = await stack.http.request(method, `${base}/admin-users/${me}`, { token: a.token, body });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('LAST_KEY_ADMIN');
    }
    // Audited.
    const audit = await stack.http.get(`${base}/audit-events?limit=1000`, a.token);
    const actions = audit.body.events.map((e: { action: string; target: string }) => `${e.action} ${e.target}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        `admin_user.disabled admin_user:${b.id}`,
        `admin_user.role_changed admin_user:${b.id}`,
        `admin_user.deleted admin_user:${b.id}`,
      ]),
    );
  });

  it('never leaves a tenant without an enabled key admin under concurrency', async () => {
    const a = await onboard();
    const base = `/v1/tenants/${a.tenant.id}`;
    const b = await inviteUser(stack.url, a.token, a.tenant.id, {
      email: `b-${unique()}@example.com`,
      role: 'key_admin',
    });
    const aId = (await stack.http.get(`${base}/admin-users`, a.token)).body.adminUsers.find(
      (u: { email: string }) => u.email === a.email,
    ).id;
    const [r1, r2] = await Promise.all([
      stack.http.request('PATCH', `${base}/admin-users/${b.id}`, { token: a.token, body: { disabled: true } }),
      httpB.request('PATCH', `${base}/admin-users/${aId}`, { token: b.token, body: { disabled: true } }),
    ]);
    // One wins; the other is refused by the database rule (409) or, if the winner's revocation reached its replica
    // first, because its own session just ended (401). Never both.
    expect([r1.status, r2.status].filter((s) => s === 200)).toHaveLength(1);
    expect([401, 409]).toContain([r1.status, r2.status].filter((s) => s !== 200)[0]);
    const left = await stack.api.services.ds.query(
      `SELECT count(*)::int AS n FROM admin_users WHERE tenant_id = $1 AND role = 'key_admin' AND NOT disabled`,
      [a.tenant.id],
    );
    expect(left[0].n).toBe(1);
  });

  it('enforces the last-key-admin rule in the database under concurrency (no session check in the way)', async () => {
    const a = await onboard();
    const base = `/v1/tenants/${a.tenant.id}`;
    const users: string[] = [];
    for (let i = 0; i < 3; i++)
      users.push(
        (
          await inviteUser(stack.url, a.token, a.tenant.id, {
            email: `k${i}-${unique()}@example.com`,
            role: 'key_admin',
          })
        ).id,
      );
    users.push(
      (await stack.http.get(`${base}/admin-users`, a.token)).body.adminUsers.find(
        (u: { email: string }) => u.email === a.email,
      ).id,
    );
    const repo = stack.api.services.repos.adminAccounts;
    const results = await Promise.allSettled(
      users.map((id, i) => (i % 2 ? repo.update(a.tenant.id, id, { disabled: true }) : repo.delete(a.tenant.id, id))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected').map((r) => r.reason.name)).toEqual(['LastKeyAdminError']);
    const left = await stack.api.services.ds.query(
      `SELECT count(*)::int AS n FROM admin_users WHERE tenant_id = $1 AND role = 'key_admin' AND NOT disabled`,
      [a.tenant.id],
    );
    expect(left[0].n).toBe(1);
  });

  it('keeps tenants apart on the new routes', async () => {
    const a = await onboard();
    const other = await onboard();
    const otherUsers = await stack.http.get(`/v1/tenants/${other.tenant.id}/admin-users`, other.token);
    const victim = otherUsers.body.adminUsers[0].id;
    expect((await stack.http.get(`/v1/tenants/${other.tenant.id}/admin-users`, a.token)).status).toBe(404);
    expect(
      (
        await stack.http.request('PATCH', `/v1/tenants/${a.tenant.id}/admin-users/${victim}`, {
          token: a.token,
          body: { disabled: true },
        })
      ).status,
    ).toBe(404);
    expect((await stack.http.delete(`/v1/tenants/${a.tenant.id}/admin-users/${victim}`, a.token)).status).toBe(404);
    const inv = await stack.http.post(
      `/v1/tenants/${other.tenant.id}/invitations`,
      { email: `z-${unique()}@example.com`, role: 'auditor' },
      other.token,
    );
    expect((await stack.http.delete(`/v1/tenants/${a.tenant.id}/invitations/${inv.body.id}`, a.token)).status).toBe(
      404,
    );
    expect((await stack.http.get(`/v1/tenants/${other.tenant.id}/workspaces`, other.token)).status).toBe(200);
  });

  it('the operator token cannot act inside a tenant', async () => {
    const a = await onboard();
    const base = `/v1/tenants/${a.tenant.id}`;
    for (const [m, p, body] of [
      ['GET', `${base}/admin-users`, undefined],
      ['POST', `${base}/invitations`, { email: 'op@example.com', role: 'key_admin' }],
      ['POST', `${base}/admin-users`, { email: 'op@example.com', password: 'p'.repeat(20), role: 'key_admin' }],
    ] as const) {
      const r = await stack.http.request(m, p, { token: stack.operatorToken, body });
      expect([401, 404]).toContain(r.status);
    }
  });

  it('a second accepted invitation for the same address is refused', async () => {
    const a = await onboard();
    const email = `dup-${unique()}@example.com`;
    await inviteUser(stack.url, a.token, a.tenant.id, { email, role: 'auditor' });
    const again = await stack.http.post(`/v1/tenants/${a.tenant.id}/invitations`, { email, role: 'auditor' }, a.token);
    expect(again.status).toBe(409);
  });
});

describe('credentials in production mode', () => {
  let stack: TestStack;
  let mail: WebhookMailCapture;
  beforeAll(async () => {
    mail = await WebhookMailCapture.start();
    // production mode requires every secret explicitly, the audit keys included
    const { privateKey } = generateKeyPairSync('ed25519');
    stack = await startStack({
      config: {
        mode: 'production',
        mfaSecretKey: randomBytes(32).toString('base64'),
        mailWebhookUrl: mail.url,
        auditHmacKey: randomBytes(32).toString('base64'),
        auditSigningKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await mail?.close();
  });

  it('has no dev mailbox, and delivers invitations through the mail webhook only', async () => {
    expect((await stack.http.get('/dev/mailbox')).status).toBe(404);
    const email = `prod-${randomBytes(4).toString('hex')}@example.com`;
    const a = await onboardTenant(stack.url, stack.operatorToken, { name: 'prod', email, mail: mail.reader });
    expect(a.token).toMatch(/\./);
    expect(stack.logs()).not.toContain(await mail.reader(email, 'invitation'));
  });
});
