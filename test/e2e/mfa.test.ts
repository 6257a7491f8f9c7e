import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { inviteUser } from '../../apps/api/src/dev/onboarding-client';
import { cleanRedisPrefix, startStack, tenantWithAdmin, type TestStack } from '../support/stack';

/**
 * MFA of tenant admins through the real API (Postgres, Redis): TOTP enrolment and sign-in, replay of a code, wrong
 * codes, recovery codes used once, the tenant policy (MFA required, passkeys required for key admins), fresh
 * authentication for factor changes, a key admin's reset, audit records, and isolation between tenants. The
 * passkey (WebAuthn) ceremonies run in the real browser (test/console/mfa.test.ts); here only their refusals.
 */
jest.setTimeout(60_000);

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  if (stack) await cleanRedisPrefix(stack);
  await stack?.close();
});

type Admin = { tenantId: string; id?: string; email: string; password: string; token: string };

const unique = () => randomBytes(4).toString('hex');
const nowSec = () => Math.floor(Date.now() / 1000);
/** The code of the `k`-th 30-second step from now (the server accepts one step either side). */
const codeAt = (secret: string, k = 0) => generate({ secret, epoch: nowSec() + 30 * k });

async function passwordStep(a: Pick<Admin, 'tenantId' | 'email' | 'password'>) {
  const r = await stack.http.post('/v1/auth/token', {
    grant_type: 'password',
    tenant_id: a.tenantId,
    username: a.email,
    password: a.password,
  });
  expect(r.status).toBe(200);
  return r.body as {
    access_token?: string;
    mfa_required?: boolean;
    mfa_token?: string;
    mfa_mode?: string;
    methods?: string[];
  };
}

async function enrolTotp(a: Admin): Promise<{ secret: string; factorId: string; recoveryCodes: string[] }> {
  const base = `/v1/tenants/${a.tenantId}/me/mfa`;
  const started = await stack.http.post(`${base}/totp`, { label: 'phone' }, a.token);
  expect(started.status).toBe(201);
  expect(started.body.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
  const confirmed = await stack.http.post(
    `${base}/totp/${started.body.factorId}/confirm`,
    { code: await codeAt(started.body.secret) },
    a.token,
  );
  expect(confirmed.status).toBe(200);
  return {
    secret: started.body.secret,
    factorId: started.body.factorId,
    recoveryCodes: confirmed.body.recoveryCodes ?? [],
  };
}

async function newTenant(): Promise<Admin> {
  const t = await tenantWithAdmin(stack, `Mfa-${unique()}`);
  return { tenantId: t.tenant.id, email: t.email, password: t.password, token: t.token };
}

async function auditActions(
  a: Admin,
  token = a.token,
): Promise<Array<{ action: string; actor: string; target: string; details: Record<string, unknown> }>> {
  const r = await stack.http.get(`/v1/tenants/${a.tenantId}/audit-events?limit=1000`, token);
  expect(r.status).toBe(200);
  return r.body.events;
}

describe('TOTP', () => {
  let admin: Admin;
  let totp: { secret: string; factorId: string; recoveryCodes: string[] };

  beforeAll(async () => {
    admin = await newTenant();
  });

  it('a user without factors still signs in with the password alone', async () => {
    const r = await passwordStep(admin);
    expect(r.access_token).toMatch(/\./);
    expect(r.mfa_required).toBeUndefined();
  });

  it('enrols: a wrong code is refused, the right one confirms and returns ten recovery codes once; secrets are not stored in the clear', async () => {
    const base = `/v1/tenants/${admin.tenantId}/me/mfa`;
    const started = await stack.http.post(`${base}/totp`, {}, admin.token);
    expect(started.status).toBe(201);
    const wrong = await stack.http.post(
      `${base}/totp/${started.body.factorId}/confirm`,
      { code: '000000' === (await codeAt(started.body.secret)) ? '111111' : '000000' },
      admin.token,
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('MFA_CODE_INVALID');
    // An unconfirmed set-up is not a factor: the password alone still signs in.
    expect((await passwordStep(admin)).access_token).toBeDefined();

    totp = await enrolTotp(admin);
    expect(totp.recoveryCodes).toHaveLength(10);
    expect(new Set(totp.recoveryCodes).size).toBe(10);
    for (const c of totp.recoveryCodes) expect(c).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);

    const status = await stack.http.get(base, admin.token);
    expect(status.body).toEqual({
      factors: [expect.objectContaining({ id: totp.factorId, kind: 'totp', label: 'phone' })],
      recoveryCodesRemaining: 10,
      policy: 'none',
    });
    expect(JSON.stringify(status.body)).not.toContain(totp.secret);

    const rows = await stack.api.services.ds.query(`SELECT totp_secret FROM admin_mfa_factors WHERE id = $1`, [
      totp.factorId,
    ]);
    expect(Buffer.from(rows[0].totp_secret).toString('latin1')).not.toContain(totp.secret);
    const codes = await stack.api.services.ds.query(
      `SELECT encode(code_hash, 'hex') AS h FROM admin_recovery_codes WHERE tenant_id = $1`,
      [admin.tenantId],
    );
    expect(codes).toHaveLength(10);
    const dump = JSON.stringify(codes);
    for (const c of totp.recoveryCodes) expect(dump).not.toContain(c.replace(/-/g, ''));

    const events = await auditActions(admin);
    expect(events.find((e) => e.action === 'admin_user.mfa_factor_added')).toEqual(
      expect.objectContaining({
        target: expect.stringMatching(/^admin_user:/),
        details: expect.objectContaining({ kind: 'totp', factorId: totp.factorId, recoveryCodesIssued: 10 }),
      }),
    );
  });

  it('the password alone now yields a single-use challenge, not a session; the code completes the sign-in once', async () => {
    const step = await passwordStep(admin);
    expect(step.access_token).toBeUndefined();
    expect(step).toEqual({
      mfa_required: true,
      mfa_token: expect.any(String),
      mfa_mode: 'verify',
      methods: ['totp', 'recovery_code'],
      expires_in: 300,
    });
    // The challenge is no bearer token.
    expect((await stack.http.get(`/v1/tenants/${admin.tenantId}/workspaces`, step.mfa_token)).status).toBe(401);

    const wrong = await stack.http.post('/v1/auth/mfa/totp', { mfa_token: step.mfa_token, code: '12345x' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('MFA_CODE_INVALID');

    // The confirmation used the current step: the next one is a fresh code.
    const code = await codeAt(totp.secret, 1);
    const ok = await stack.http.post('/v1/auth/mfa/totp', { mfa_token: step.mfa_token, code });
    expect(ok.status).toBe(200);
    expect((await stack.http.get(`/v1/tenants/${admin.tenantId}/workspaces`, ok.body.access_token)).status).toBe(200);
    admin.token = ok.body.access_token;

    // The challenge is used up.
    const again = await stack.http.post('/v1/auth/mfa/totp', { mfa_token: step.mfa_token, code });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('MFA_CHALLENGE_INVALID');

    // The same code, or one of an earlier step, cannot be replayed in a new sign-in within its window.
    for (const c of [code, await codeAt(totp.secret, 0)]) {
      const next = await passwordStep(admin);
      const replay = await stack.http.post('/v1/auth/mfa/totp', { mfa_token: next.mfa_token, code: c });
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('MFA_CODE_INVALID');
    }
  });

  it('a challenge is dropped after five wrong codes', async () => {
    const step = await passwordStep(admin);
    for (let i = 0; i < 5; i++)
      expect(
        (await stack.http.post('/v1/auth/mfa/totp', { mfa_token: step.mfa_token, code: '999999' })).body.error.code,
      ).toMatch(/MFA_CODE_INVALID|MFA_CHALLENGE_INVALID/);
    const r = await stack.http.post('/v1/auth/mfa/totp', {
      mfa_token: step.mfa_token,
      code: await codeAt(totp.secret, 1),
    });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('MFA_CHALLENGE_INVALID');
  });

  it('a recovery code works once; regenerating voids the old ones', async () => {
    // the previous test spent 5 of the user's 10 wrong codes: a success resets the budget
    const [first, second] = totp.recoveryCodes;
    const step = await passwordStep(admin);
    const ok = await stack.http.post('/v1/auth/mfa/recovery-code', {
      mfa_token: step.mfa_token,
      code: first.toLowerCase(),
    });
    expect(ok.status).toBe(200);
    expect(ok.body.recovery_codes_remaining).toBe(9);
    admin.token = ok.body.access_token;
    const step2 = await passwordStep(admin);
    const reused = await stack.http.post('/v1/auth/mfa/recovery-code', { mfa_token: step2.mfa_token, code: first });
    expect(reused.status).toBe(401);
    expect(reused.body.error.code).toBe('MFA_CODE_INVALID');
    expect((await auditActions(admin)).some((e) => e.action === 'admin_user.mfa_recovery_code_used')).toBe(true);

    const regenerated = await stack.http.post(`/v1/tenants/${admin.tenantId}/me/mfa/recovery-codes`, {}, admin.token);
    expect(regenerated.status).toBe(201);
    expect(regenerated.body.recoveryCodes).toHaveLength(10);
    const old = await stack.http.post('/v1/auth/mfa/recovery-code', { mfa_token: step2.mfa_token, code: second });
    expect(old.status).toBe(401);
    const fresh = await stack.http.post('/v1/auth/mfa/recovery-code', {
      mfa_token: step2.mfa_token,
      code: regenerated.body.recoveryCodes[0],
    });
    expect(fresh.status).toBe(200);
    admin.token = fresh.body.access_token;
    totp.recoveryCodes = regenerated.body.recoveryCodes.slice(1);
  });

  it('wrong codes spend a per-user budget across challenges (429 with Retry-After)', async () => {
    const user = await inviteUser(stack.url, admin.token, admin.tenantId, {
      email: `budget-${unique()}@example.com`,
      role: 'auditor',
    });
    const u: Admin = { tenantId: admin.tenantId, email: user.email, password: user.password, token: user.token };
    const t = await enrolTotp(u);
    let limited: { status: number; headers: Headers; body: any } | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const step = await passwordStep(u);
      const r = await stack.http.post('/v1/auth/mfa/totp', { mfa_token: step.mfa_token, code: '000001' });
      if (r.status === 429) limited = r;
      else expect(r.body.error.code).toBe('MFA_CODE_INVALID');
    }
    expect(limited?.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even the right code waits now.
    const step = await passwordStep(u);
    expect(
      (await stack.http.post('/v1/auth/mfa/totp', { mfa_token: step.mfa_token, code: await codeAt(t.secret, 1) }))
        .status,
    ).toBe(429);
  });

  it('enrolling and removing factors need a recent sign-in; removing the last factor removes the recovery codes', async () => {
    const s = stack.api.services;
    const claims = await s.adminTokens.verify(admin.token);
    const stale = (
      await s.signer.sign(
        { tid: claims.tid, sub: claims.sub, role: claims.role, gen: claims.gen },
        Date.now() - 10 * 60_000,
      )
    ).token;
    expect((await stack.http.get(`/v1/tenants/${admin.tenantId}/me/mfa`, stale)).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/me/mfa/totp', {}],
      ['POST', '/me/mfa/passkeys/options', {}],
      ['POST', '/me/mfa/recovery-codes', {}],
      ['DELETE', `/me/mfa/factors/${totp.factorId}`, undefined],
    ] as const) {
      const r = await stack.http.request(method, `/v1/tenants/${admin.tenantId}${path}`, { token: stale, body });
      expect([path, r.status, r.body?.error?.code]).toEqual([path, 403, 'FRESH_AUTH_REQUIRED']);
    }
    const removed = await stack.http.delete(
      `/v1/tenants/${admin.tenantId}/me/mfa/factors/${totp.factorId}`,
      admin.token,
    );
    expect(removed.status).toBe(204);
    expect((await stack.http.get(`/v1/tenants/${admin.tenantId}/me/mfa`, admin.token)).body).toEqual({
      factors: [],
      recoveryCodesRemaining: 0,
      policy: 'none',
    });
    expect((await passwordStep(admin)).access_token).toBeDefined();
    expect((await auditActions(admin)).find((e) => e.action === 'admin_user.mfa_factor_removed')?.details).toEqual(
      expect.objectContaining({ factorId: totp.factorId, factorsLeft: 0 }),
    );
    const again = await stack.http.delete(`/v1/tenants/${admin.tenantId}/me/mfa/factors/${totp.factorId}`, admin.token);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('MFA_FACTOR_NOT_FOUND');
  });

  it('no TOTP seed, recovery code or challenge token reaches the log', async () => {
    await stack.api.services.auditBuffer.flush();
    const logs = stack.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(totp.secret);
    for (const c of totp.recoveryCodes) expect(logs).not.toContain(c);
  });
});

describe('policy, reset and isolation', () => {
  let a: Admin;
  let auditor: Admin;
  let b: Admin;
  let aTotp: { secret: string; factorId: string; recoveryCodes: string[] };
  let k = 1;
  /** A code no sign-in of this secret has used yet (each use moves one step on; at most one step ahead is accepted). */
  const nextCode = (secret: string) => codeAt(secret, Math.min(1, k++));

  beforeAll(async () => {
    a = await newTenant();
    b = await newTenant();
    const u = await inviteUser(stack.url, a.token, a.tenantId, {
      email: `aud-${unique()}@example.com`,
      role: 'auditor',
    });
    auditor = { tenantId: a.tenantId, id: u.id, email: u.email, password: u.password, token: u.token };
  });

  it('only key admins set the policy; the change is audited', async () => {
    const path = `/v1/tenants/${a.tenantId}/mfa-policy`;
    expect((await stack.http.get(path, auditor.token)).body).toEqual({ policy: 'none' });
    const denied = await stack.http.put(path, { policy: 'mfa_required' }, auditor.token);
    expect(denied.status).toBe(403);
    const bad = await stack.http.put(path, { policy: 'sometimes' }, a.token);
    expect(bad.status).toBe(400);
    const set = await stack.http.put(path, { policy: 'mfa_required' }, a.token);
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ policy: 'mfa_required' });
    expect((await auditActions(a)).find((e) => e.action === 'tenant.mfa_policy_changed')?.details).toEqual({
      before: 'none',
      after: 'mfa_required',
    });
  });

  it('mfa_required: a user without a factor must enrol one during sign-in before getting a session', async () => {
    const step = await passwordStep(auditor);
    expect(step).toEqual(
      expect.objectContaining({ mfa_required: true, mfa_mode: 'enrol', methods: ['passkey', 'totp'] }),
    );
    // Nothing to verify yet.
    const verify = await stack.http.post('/v1/auth/mfa/totp', { mfa_token: step.mfa_token, code: '123456' });
    expect(verify.status).toBe(409);
    expect(verify.body.error.code).toBe('MFA_METHOD_NOT_AVAILABLE');
    const started = await stack.http.post('/v1/auth/mfa/enrol/totp', {
      mfa_token: step.mfa_token,
      label: 'auditor phone',
    });
    expect(started.status).toBe(200);
    const done = await stack.http.post('/v1/auth/mfa/enrol/totp/confirm', {
      mfa_token: step.mfa_token,
      factorId: started.body.factorId,
      code: await codeAt(started.body.secret),
    });
    expect(done.status).toBe(200);
    expect(done.body.recovery_codes).toHaveLength(10);
    expect((await stack.http.get(`/v1/tenants/${a.tenantId}/workspaces`, done.body.access_token)).status).toBe(200);
    auditor.token = done.body.access_token;
    // Next time: verify, not enrol.
    expect((await passwordStep(auditor)).mfa_mode).toBe('verify');
  });

  it('passkey_required_for_key_admins: a key admin with TOTP must enrol a passkey (TOTP and recovery codes: 403 PASSKEY_REQUIRED); auditors keep TOTP', async () => {
    // while the policy is mfa_required, the key admin enrols TOTP at sign-in
    const step0 = await passwordStep(a);
    expect(step0.mfa_mode).toBe('enrol');
    const started = await stack.http.post('/v1/auth/mfa/enrol/totp', { mfa_token: step0.mfa_token });
    const done = await stack.http.post('/v1/auth/mfa/enrol/totp/confirm', {
      mfa_token: step0.mfa_token,
      factorId: started.body.factorId,
      code: await codeAt(started.body.secret),
    });
    expect(done.status).toBe(200);
    a.token = done.body.access_token;
    aTotp = { secret: started.body.secret, factorId: started.body.factorId, recoveryCodes: done.body.recovery_codes };

    expect(
      (
        await stack.http.put(
          `/v1/tenants/${a.tenantId}/mfa-policy`,
          { policy: 'passkey_required_for_key_admins' },
          a.token,
        )
      ).status,
    ).toBe(200);
    const step = await passwordStep(a);
    expect(step).toEqual(expect.objectContaining({ mfa_mode: 'enrol', methods: ['passkey'] }));
    for (const [path, code] of [
      ['/v1/auth/mfa/totp', await nextCode(aTotp.secret)],
      ['/v1/auth/mfa/recovery-code', aTotp.recoveryCodes[0]],
    ]) {
      const r = await stack.http.post(path, { mfa_token: step.mfa_token, code });
      expect([path, r.status, r.body.error.code]).toEqual([path, 403, 'PASSKEY_REQUIRED']);
    }
    const enrolTotp = await stack.http.post('/v1/auth/mfa/enrol/totp', { mfa_token: step.mfa_token });
    expect(enrolTotp.status).toBe(403);
    expect(enrolTotp.body.error.code).toBe('PASSKEY_REQUIRED');
    // A passkey registration answer that is not a real attestation is refused with a code, never a 5xx.
    const options = await stack.http.post('/v1/auth/mfa/enrol/passkey/options', { mfa_token: step.mfa_token });
    expect(options.status).toBe(200);
    expect(options.body.rp).toEqual({ name: 'Keyhold', id: 'localhost' });
    expect(options.body.authenticatorSelection).toEqual(expect.objectContaining({ userVerification: 'required' }));
    const junk = {
      id: 'AAAA',
      rawId: 'AAAA',
      type: 'public-key',
      response: { clientDataJSON: 'e30', attestationObject: 'AAAA' },
      clientExtensionResults: {},
    };
    const refused = await stack.http.post('/v1/auth/mfa/enrol/passkey', {
      mfa_token: step.mfa_token,
      credential: junk,
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('WEBAUTHN_VERIFICATION_FAILED');
    // The challenge was single-use: the same options cannot be answered twice.
    const replay = await stack.http.post('/v1/auth/mfa/enrol/passkey', { mfa_token: step.mfa_token, credential: junk });
    expect(replay.body.error.code).toBe('WEBAUTHN_VERIFICATION_FAILED');
    expect(replay.body.error.message).toMatch(/no live registration challenge/);

    // The auditor is not a key admin: TOTP still works.
    const aud = await passwordStep(auditor);
    expect(aud.methods).toContain('totp');
  });

  it("a key admin resets another admin's MFA: factors gone, their sessions end, audited; never their own, never as an auditor", async () => {
    // The key admin cannot sign in under the passkey policy without a passkey: relax it for this test.
    await stack.api.services.ds.query(`UPDATE tenant_mfa_policies SET policy = 'mfa_required' WHERE tenant_id = $1`, [
      a.tenantId,
    ]);
    const step = await passwordStep(a);
    const signedIn = await stack.http.post('/v1/auth/mfa/totp', {
      mfa_token: step.mfa_token,
      code: await nextCode(aTotp.secret),
    });
    expect(signedIn.status).toBe(200);
    a.token = signedIn.body.access_token;
    const claims = await stack.api.services.adminTokens.verify(a.token);

    const byAuditor = await stack.http.delete(`/v1/tenants/${a.tenantId}/admin-users/${claims.sub}/mfa`, auditor.token);
    expect(byAuditor.status).toBe(403);
    const self = await stack.http.delete(`/v1/tenants/${a.tenantId}/admin-users/${claims.sub}/mfa`, a.token);
    expect(self.status).toBe(409);
    expect(self.body.error.code).toBe('MFA_RESET_SELF');

    const reset = await stack.http.delete(`/v1/tenants/${a.tenantId}/admin-users/${auditor.id}/mfa`, a.token);
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ factorsRemoved: 1 });
    expect((await stack.http.get(`/v1/tenants/${a.tenantId}/workspaces`, auditor.token)).status).toBe(401);
    expect((await passwordStep(auditor)).mfa_mode).toBe('enrol');
    const ev = (await auditActions(a)).find((e) => e.action === 'admin_user.mfa_reset');
    expect(ev).toEqual(expect.objectContaining({ actor: `admin:${claims.sub}`, target: `admin_user:${auditor.id}` }));
  });

  it("tenants are isolated: another tenant's factor, user or policy is 404, and nothing changes", async () => {
    const bClaims = await stack.api.services.adminTokens.verify(b.token);
    const cases: Array<[string, string, unknown?]> = [
      ['DELETE', `/v1/tenants/${b.tenantId}/me/mfa/factors/${aTotp.factorId}`],
      ['DELETE', `/v1/tenants/${a.tenantId}/me/mfa/factors/${aTotp.factorId}`],
      ['DELETE', `/v1/tenants/${b.tenantId}/admin-users/${auditor.id}/mfa`],
      ['DELETE', `/v1/tenants/${a.tenantId}/admin-users/${auditor.id}/mfa`],
      ['GET', `/v1/tenants/${a.tenantId}/mfa-policy`],
      ['PUT', `/v1/tenants/${a.tenantId}/mfa-policy`, { policy: 'none' }],
      ['GET', `/v1/tenants/${a.tenantId}/me/mfa`],
      ['POST', `/v1/tenants/${b.tenantId}/me/mfa/totp/${aTotp.factorId}/confirm`, { code: '123456' }],
    ];
    for (const [method, path, body] of cases) {
      const r = await stack.http.request(method, path, { token: b.token, body });
      expect([method, path, r.status]).toEqual([method, path, 404]);
      expect(r.text).not.toContain(a.email);
    }
    const row = await stack.api.services.ds.query(`SELECT count(*)::int AS n FROM admin_mfa_factors WHERE id = $1`, [
      aTotp.factorId,
    ]);
    expect(row[0].n).toBe(1);
    expect((await stack.http.get(`/v1/tenants/${a.tenantId}/mfa-policy`, a.token)).body).toEqual({
      policy: 'mfa_required',
    });
    expect((await stack.http.get(`/v1/tenants/${b.tenantId}/me/mfa`, b.token)).body).toEqual({
      factors: [],
      recoveryCodesRemaining: 0,
      policy: 'none',
    });
    expect(bClaims.tid).toBe(b.tenantId);
    // One tenant's challenge token is no use with another tenant's codes.
    const step = await passwordStep(a);
    const r = await stack.http.post('/v1/auth/mfa/recovery-code', {
      mfa_token: step.mfa_token,
      code: 'AAAA-BBBB-CCCC-DDDD',
    });
    expect(r.status).toBe(401);
  });
});
