import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cleanRedisPrefix, startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { CookieBrowser, collectSession, freePort, signInAtIdp, visitCallback } from './flow';
import { Idp, startIdp } from './idp';

/**
 * SSO per tenant, end to end against a real OpenID Connect provider (oidc-provider, in a child process): the API's
 * login route, the IdP's login page, the callback with the code, the session handoff. Each tenant has its own
 * client at the IdP; two clients get ID tokens rewritten (correctly re-signed) with a wrong audience or nonce.
 */
jest.setTimeout(120_000);

const secret = () => randomBytes(24).toString('base64url');
const clients = {
  a: secret(),
  b: secret(),
  aud: secret(),
  nonce: secret(),
  exp: secret(),
  iss: secret(),
  other: secret(),
};

let stack: TestStack;
let idp: Idp;
/** A second, unrelated IdP (tenant B's in the cross-tenant case). */
let otherIdp: Idp;
let apiUrl: string;

const users = {
  alice: { email: 'alice@acme.test', groups: ['kh-admins'] },
  bob: { email: 'bob@acme.test', groups: ['kh-auditors', 'staff'] },
  carol: { email: 'carol@acme.test', groups: ['staff'] },
  mallory: { email: 'mallory@evil.test', groups: ['kh-admins'] },
  betty: { email: 'betty@beta.test', groups: ['kh-admins'] },
  // another IdP account claiming alice's address
  'alice-twin': { email: 'alice@acme.test', groups: ['kh-admins'] },
};

const config = (issuer: string, clientId: string, clientSecret: string, extra: Record<string, unknown> = {}) => ({
  issuer,
  clientId,
  clientSecret,
  allowedEmailDomains: ['acme.test'],
  roleMappings: [
    { group: 'kh-admins', role: 'key_admin' },
    { group: 'kh-auditors', role: 'auditor' },
  ],
  ...extra,
});

async function tenantWithSso(
  clientId: string,
  clientSecret: string,
  extra: Record<string, unknown> = {},
  issuer = idp.issuer,
) {
  const t = await tenantWithAdmin(stack);
  const put = await stack.http.put(
    `/v1/tenants/${t.tenant.id}/sso`,
    config(issuer, clientId, clientSecret, extra),
    t.token,
  );
  expect(put.status).toBe(200);
  return t;
}

beforeAll(async () => {
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  const redirect = [`${apiUrl}/v1/sso/callback`];
  idp = await startIdp(
    [
      { client_id: 'keyhold-a', client_secret: clients.a, redirect_uris: redirect },
      { client_id: 'keyhold-b', client_secret: clients.b, redirect_uris: redirect },
      { client_id: 'keyhold-aud', client_secret: clients.aud, redirect_uris: redirect, tamper: 'aud' },
      { client_id: 'keyhold-nonce', client_secret: clients.nonce, redirect_uris: redirect, tamper: 'nonce' },
      { client_id: 'keyhold-exp', client_secret: clients.exp, redirect_uris: redirect, tamper: 'exp' },
      { client_id: 'keyhold-iss', client_secret: clients.iss, redirect_uris: redirect, tamper: 'iss' },
    ],
    users,
  );
  otherIdp = await startIdp([{ client_id: 'keyhold-a', client_secret: clients.other, redirect_uris: redirect }], users);
  stack = await startStack({
    config: { port, publicUrl: apiUrl },
    providerEnv: { KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS: '1' },
  });
  expect(stack.url).toBe(apiUrl);
});

afterAll(async () => {
  if (stack) {
    await cleanRedisPrefix(stack);
    await stack.close();
  }
  await idp?.close();
  await otherIdp?.close();
});

describe('SSO configuration', () => {
  it('is stored with the client secret sealed, never returned, and audited in the same transaction', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const got = await stack.http.get(`/v1/tenants/${t.tenant.id}/sso`, t.token);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      configured: true,
      issuer: idp.issuer,
      clientId: 'keyhold-a',
      clientSecretSet: true,
      redirectUri: `${apiUrl}/v1/sso/callback`,
      ssoRequired: false,
    });
    expect(got.text).not.toContain(clients.a);
    const row = await stack.api.services.ds.query(
      `SELECT client_secret_sealed FROM sso_configurations WHERE tenant_id = $1`,
      [t.tenant.id],
    );
    expect(Buffer.from(row[0].client_secret_sealed).includes(Buffer.from(clients.a))).toBe(false);
    const audit = await stack.http.get(`/v1/tenants/${t.tenant.id}/audit-events`, t.token);
    const ev = audit.body.events.find((e: any) => e.action === 'sso.configuration_created');
    expect(ev).toBeTruthy();
    expect(JSON.stringify(ev)).not.toContain(clients.a);
    expect(stack.logs()).not.toContain(clients.a);
  });

  it('refuses issuers that are not https or point at internal addresses (SSRF), with codes', async () => {
    const t = await tenantWithAdmin(stack);
    for (const issuer of [
      'http://example.com',
      'https://169.254.169.254/latest',
      'https://10.0.0.1',
      'https://user:pw@idp.example.com',
      'https://idp.example.com/?x=1',
      'ftp://idp.example.com',
    ]) {
      const r = await stack.http.put(`/v1/tenants/${t.tenant.id}/sso`, config(issuer, 'c', 's'), t.token);
      expect([r.status, r.body.error.code, issuer]).toEqual([400, 'SSO_ISSUER_REJECTED', issuer]);
    }
    expect((await stack.http.get(`/v1/tenants/${t.tenant.id}/sso`, t.token)).body).toEqual({
      configured: false,
      redirectUri: `${apiUrl}/v1/sso/callback`,
    });
    const unreachable = await stack.http.put(
      `/v1/tenants/${t.tenant.id}/sso`,
      config('http://127.0.0.1:9', 'c', 's'),
      t.token,
    );
    expect(unreachable.body.error.code).toBe('SSO_ISSUER_UNREACHABLE');
    expect(
      await stack.api.services.ds.query(`SELECT 1 FROM sso_configurations WHERE tenant_id = $1`, [t.tenant.id]),
    ).toHaveLength(0);
  });

  it('refuses an IdP whose discovery document names another issuer or points its endpoints at internal addresses', async () => {
    const t = await tenantWithAdmin(stack);
    let doc: Record<string, unknown> = {};
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc)),
    );
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const endpoints = {
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
    };
    try {
      for (const [d, expected] of [
        [{ issuer: 'https://someone-else.example.com', ...endpoints }, 'SSO_ISSUER_UNREACHABLE'],
        [{ issuer, ...endpoints, jwks_uri: 'http://169.254.169.254/latest/meta-data' }, 'SSO_ISSUER_REJECTED'],
        [{ issuer, ...endpoints, token_endpoint: 'https://10.0.0.1/token' }, 'SSO_ISSUER_REJECTED'],
        [{ issuer, ...endpoints, authorization_endpoint: 'javascript:alert(1)' }, 'SSO_ISSUER_REJECTED'],
      ] as const) {
        doc = d;
        const r = await stack.http.put(`/v1/tenants/${t.tenant.id}/sso`, config(issuer, 'c', 's'), t.token);
        expect([r.status < 500, r.body.error?.code]).toEqual([true, expected]);
      }
    } finally {
      server.close();
    }
  });

  it('is for key admins: an auditor may read it, not change it; another tenant gets 404', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const other = await tenantWithAdmin(stack);
    expect((await stack.http.get(`/v1/tenants/${t.tenant.id}/sso`, other.token)).status).toBe(404);
    expect(
      (await stack.http.put(`/v1/tenants/${t.tenant.id}/sso`, config(idp.issuer, 'keyhold-b', clients.b), other.token))
        .status,
    ).toBe(404);
    expect((await stack.http.delete(`/v1/tenants/${t.tenant.id}/sso`, other.token)).status).toBe(404);
    const b = new CookieBrowser();
    expect(await visitCallback(b, await signInAtIdp(b, apiUrl, t.tenant.id, 'bob'))).toBe('sso-complete');
    const auditor = await collectSession(b, apiUrl);
    expect(auditor.body.role).toBe('auditor');
    expect((await stack.http.get(`/v1/tenants/${t.tenant.id}/sso`, auditor.body.access_token)).status).toBe(200);
    const put = await stack.http.put(
      `/v1/tenants/${t.tenant.id}/sso`,
      config(idp.issuer, 'keyhold-a', clients.a),
      auditor.body.access_token,
    );
    expect(put.status).toBe(403);
  });
});

describe('SSO sign-in', () => {
  it('signs in through the IdP, provisions the admin just in time with the mapped role, and audits it', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const b = new CookieBrowser();
    const callback = await signInAtIdp(b, apiUrl, t.tenant.id, 'alice');
    expect(new URL(callback).searchParams.get('code')).toBeTruthy();
    expect(await visitCallback(b, callback)).toBe('sso-complete');
    const s = await collectSession(b, apiUrl);
    expect(s.status).toBe(200);
    expect(s.body).toMatchObject({
      token_type: 'Bearer',
      tenant_id: t.tenant.id,
      email: 'alice@acme.test',
      role: 'key_admin',
    });
    // The token works on the admin API, as a key admin of this tenant.
    const users = await stack.http.get(`/v1/tenants/${t.tenant.id}/admin-users`, s.body.access_token);
    expect(users.status).toBe(200);
    expect(users.body.adminUsers.find((u: any) => u.email === 'alice@acme.test')).toMatchObject({
      role: 'key_admin',
      disabled: false,
    });
    // The handoff is single use.
    expect((await collectSession(b, apiUrl)).body.error.code).toBe('SSO_HANDOFF_INVALID');
    const audit = await stack.http.get(`/v1/tenants/${t.tenant.id}/audit-events`, t.token);
    const actions = audit.body.events.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['admin_user.provisioned', 'sso.sign_in']));
    // A second sign-in finds the same user (linked by IdP subject), no second account.
    const b2 = new CookieBrowser();
    expect(await visitCallback(b2, await signInAtIdp(b2, apiUrl, t.tenant.id, 'alice'))).toBe('sso-complete');
    const again = await collectSession(b2, apiUrl);
    const list = await stack.http.get(`/v1/tenants/${t.tenant.id}/admin-users`, again.body.access_token);
    expect(list.body.adminUsers.filter((u: any) => u.email === 'alice@acme.test')).toHaveLength(1);
  });

  it("applies the tenant's MFA policy after the IdP: a required second factor is asked for, no session without it", async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const policy = await stack.http.put(`/v1/tenants/${t.tenant.id}/mfa-policy`, { policy: 'mfa_required' }, t.token);
    expect(policy.status).toBe(200);
    const b = new CookieBrowser();
    expect(await visitCallback(b, await signInAtIdp(b, apiUrl, t.tenant.id, 'alice'))).toBe('sso-complete');
    const s = await collectSession(b, apiUrl);
    expect(s.status).toBe(200);
    // the IdP vouched for the first factor only: the answer is a second-step challenge, never an access token
    expect(s.body).toMatchObject({
      mfa_required: true,
      mfa_mode: 'enrol',
      tenant_id: t.tenant.id,
      email: 'alice@acme.test',
      role: 'key_admin',
    });
    expect(s.body.access_token).toBeUndefined();
    expect(typeof s.body.mfa_token).toBe('string');
  });

  it('follows the IdP when the mapped role changes: the old session ends, the new role applies', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const first = new CookieBrowser();
    expect(await visitCallback(first, await signInAtIdp(first, apiUrl, t.tenant.id, 'bob'))).toBe('sso-complete');
    const asAuditor = await collectSession(first, apiUrl);
    expect(asAuditor.body.role).toBe('auditor');
    // The key admin maps bob's other group ("staff") to key admin.
    const remap = config(idp.issuer, 'keyhold-a', clients.a, {
      roleMappings: [
        { group: 'kh-admins', role: 'key_admin' },
        { group: 'staff', role: 'key_admin' },
        { group: 'kh-auditors', role: 'auditor' },
      ],
    });
    expect((await stack.http.put(`/v1/tenants/${t.tenant.id}/sso`, remap, t.token)).status).toBe(200);
    const second = new CookieBrowser();
    expect(await visitCallback(second, await signInAtIdp(second, apiUrl, t.tenant.id, 'bob'))).toBe('sso-complete');
    const asKeyAdmin = await collectSession(second, apiUrl);
    expect(asKeyAdmin.body.role).toBe('key_admin');
    expect((await stack.http.get(`/v1/tenants/${t.tenant.id}/admin-users`, asAuditor.body.access_token)).status).toBe(
      401,
    );
    const audit = await stack.http.get(`/v1/tenants/${t.tenant.id}/audit-events`, t.token);
    expect(audit.body.events.find((e: any) => e.action === 'admin_user.role_changed')?.details).toMatchObject({
      from: 'auditor',
      to: 'key_admin',
      via: 'sso',
    });
  });

  it('refuses a second IdP account that claims the email of a user already linked to another (SSO_IDENTITY_MISMATCH)', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const b = new CookieBrowser();
    expect(await visitCallback(b, await signInAtIdp(b, apiUrl, t.tenant.id, 'alice'))).toBe('sso-complete');
    const twin = new CookieBrowser();
    expect(await visitCallback(twin, await signInAtIdp(twin, apiUrl, t.tenant.id, 'alice-twin'))).toBe(
      'sso-error/SSO_IDENTITY_MISMATCH',
    );
  });

  it('refuses a user none of whose groups is mapped (SSO_NO_ROLE_MAPPING), creating nobody', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const b = new CookieBrowser();
    expect(await visitCallback(b, await signInAtIdp(b, apiUrl, t.tenant.id, 'carol'))).toBe(
      'sso-error/SSO_NO_ROLE_MAPPING',
    );
    const users = await stack.http.get(`/v1/tenants/${t.tenant.id}/admin-users`, t.token);
    expect(users.body.adminUsers.map((u: any) => u.email)).not.toContain('carol@acme.test');
    expect((await collectSession(b, apiUrl)).status).toBe(401);
  });

  it('refuses an email outside the allowed domains (SSO_EMAIL_DOMAIN_NOT_ALLOWED)', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const b = new CookieBrowser();
    expect(await visitCallback(b, await signInAtIdp(b, apiUrl, t.tenant.id, 'mallory'))).toBe(
      'sso-error/SSO_EMAIL_DOMAIN_NOT_ALLOWED',
    );
    const audit = await stack.http.get(`/v1/tenants/${t.tenant.id}/audit-events`, t.token);
    expect(audit.body.events.find((e: any) => e.action === 'sso.sign_in' && e.outcome === 'failure')?.details).toEqual({
      code: 'SSO_EMAIL_DOMAIN_NOT_ALLOWED',
    });
  });

  it('refuses an ID token issued for another audience, correctly signed by the IdP (SSO_TOKEN_REJECTED)', async () => {
    const t = await tenantWithSso('keyhold-aud', clients.aud);
    const b = new CookieBrowser();
    expect(await visitCallback(b, await signInAtIdp(b, apiUrl, t.tenant.id, 'alice'))).toBe(
      'sso-error/SSO_TOKEN_REJECTED',
    );
    expect((await collectSession(b, apiUrl)).status).toBe(401);
  });

  it('refuses an ID token whose nonce is not the one this sign-in sent (SSO_TOKEN_REJECTED)', async () => {
    const t = await tenantWithSso('keyhold-nonce', clients.nonce);
    const b = new CookieBrowser();
    expect(await visitCallback(b, await signInAtIdp(b, apiUrl, t.tenant.id, 'alice'))).toBe(
      'sso-error/SSO_TOKEN_REJECTED',
    );
  });

  it('refuses an expired ID token and one naming another issuer, both correctly signed by the IdP', async () => {
    for (const [clientId, clientSecret] of [
      ['keyhold-exp', clients.exp],
      ['keyhold-iss', clients.iss],
    ]) {
      const t = await tenantWithSso(clientId, clientSecret);
      const b = new CookieBrowser();
      expect([clientId, await visitCallback(b, await signInAtIdp(b, apiUrl, t.tenant.id, 'alice'))]).toEqual([
        clientId,
        'sso-error/SSO_TOKEN_REJECTED',
      ]);
    }
  });

  it('refuses a replayed authorization code: the same callback again, and the code under a fresh state', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const b = new CookieBrowser();
    const callback = await signInAtIdp(b, apiUrl, t.tenant.id, 'alice');
    expect(await visitCallback(b, callback)).toBe('sso-complete');
    // The same callback: its state was consumed.
    expect(await visitCallback(b, callback)).toBe('sso-error/SSO_STATE_INVALID');
    // The used code grafted onto a fresh sign-in's state: the IdP refuses the code.
    const fresh = new URL(await signInAtIdp(b, apiUrl, t.tenant.id, 'alice'));
    fresh.searchParams.set('code', new URL(callback).searchParams.get('code')!);
    expect(await visitCallback(b, fresh.href)).toBe('sso-error/SSO_CODE_REJECTED');
  });

  it('refuses a state it did not issue, and a callback in a browser other than the one that started it', async () => {
    const t = await tenantWithSso('keyhold-a', clients.a);
    const b = new CookieBrowser();
    const callback = new URL(await signInAtIdp(b, apiUrl, t.tenant.id, 'alice'));
    const forged = new URL(callback.href);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    expect(await visitCallback(b, forged.href)).toBe('sso-error/SSO_STATE_INVALID');
    // Login CSRF: the attacker's callback URL opened in the victim's browser (no login cookie) does nothing.
    const victim = new CookieBrowser();
    expect(await visitCallback(victim, callback.href)).toBe('sso-error/SSO_STATE_INVALID');
    expect((await collectSession(victim, apiUrl)).status).toBe(401);
  });

  it("never lets tenant A's IdP sign into tenant B", async () => {
    const a = await tenantWithSso('keyhold-a', clients.a);
    const bTenant = await tenantWithSso('keyhold-b', clients.b, { allowedEmailDomains: ['acme.test', 'beta.test'] });
    const browser = new CookieBrowser();
    const other = new CookieBrowser();
    // A code issued to tenant A's client, presented to a sign-in started for tenant B: B's client cannot redeem it.
    const aCallback = new URL(await signInAtIdp(browser, apiUrl, a.tenant.id, 'alice'));
    const bCallback = new URL(await signInAtIdp(other, apiUrl, bTenant.tenant.id, 'betty'));
    bCallback.searchParams.set('code', aCallback.searchParams.get('code')!);
    expect(await visitCallback(other, bCallback.href)).toBe('sso-error/SSO_CODE_REJECTED');
    // A's state names A: finishing it signs into A, never B, and B has no user from it.
    expect(await visitCallback(browser, aCallback.href)).toBe('sso-complete');
    const s = await collectSession(browser, apiUrl);
    expect(s.body.tenant_id).toBe(a.tenant.id);
    expect((await stack.http.get(`/v1/tenants/${bTenant.tenant.id}/sso`, s.body.access_token)).status).toBe(404);
    const bUsers = await stack.http.get(`/v1/tenants/${bTenant.tenant.id}/admin-users`, bTenant.token);
    expect(bUsers.body.adminUsers.map((u: any) => u.email)).not.toContain('alice@acme.test');
  });

  it("never lets a code from tenant A's IdP sign into tenant B on another IdP, even with the same client id", async () => {
    const a = await tenantWithSso('keyhold-a', clients.a);
    const bTenant = await tenantWithSso('keyhold-a', clients.other, {}, otherIdp.issuer);
    const aBrowser = new CookieBrowser();
    const bBrowser = new CookieBrowser();
    const aCallback = new URL(await signInAtIdp(aBrowser, apiUrl, a.tenant.id, 'alice'));
    const bCallback = new URL(await signInAtIdp(bBrowser, apiUrl, bTenant.tenant.id, 'alice'));
    // A's code and A's issuer (the iss response parameter) under B's state: the issuer mix-up is caught first.
    const grafted = new URL(bCallback.href);
    grafted.searchParams.set('code', aCallback.searchParams.get('code')!);
    grafted.searchParams.set('iss', aCallback.searchParams.get('iss')!);
    expect(await visitCallback(bBrowser, grafted.href)).toBe('sso-error/SSO_TOKEN_REJECTED');
    // A's code with B's issuer parameter: B's IdP does not know the code.
    const bCallback2 = new URL(await signInAtIdp(bBrowser, apiUrl, bTenant.tenant.id, 'alice'));
    bCallback2.searchParams.set('code', aCallback.searchParams.get('code')!);
    expect(await visitCallback(bBrowser, bCallback2.href)).toBe('sso-error/SSO_CODE_REJECTED');
    const bUsers = await stack.http.get(`/v1/tenants/${bTenant.tenant.id}/admin-users`, bTenant.token);
    expect(bUsers.body.adminUsers.map((u: any) => u.email)).not.toContain('alice@acme.test');
  });

  it('unknown tenants and tenants without SSO are told so with a code', async () => {
    const t = await tenantWithAdmin(stack);
    const b = new CookieBrowser();
    for (const id of [t.tenant.id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const r = await b.request('GET', `${apiUrl}/v1/sso/login?tenant_id=${id}`);
      expect([r.status, r.location]).toEqual([302, `${apiUrl}/#/sso-error/SSO_NOT_CONFIGURED`]);
    }
  });
});

describe('SSO required', () => {
  it('refuses password sign-in for everyone but the break-glass key admin', async () => {
    const t = await tenantWithAdmin(stack);
    const breakGlass = (await stack.http.get(`/v1/tenants/${t.tenant.id}/admin-users`, t.token)).body.adminUsers[0]
      .id as string;
    // A second password user (invited) who must now use SSO.
    const invite = await stack.http.post(
      `/v1/tenants/${t.tenant.id}/invitations`,
      { email: 'dave@acme.test', role: 'key_admin' },
      t.token,
    );
    expect(invite.status).toBe(201);
    const token = /accept-invitation\/([A-Za-z0-9_-]+)/.exec(
      stack.api.services.devMailbox!.list('dave@acme.test')[0].link,
    )![1];
    const davePassword = `Pw-${secret()}`;
    expect((await stack.http.post('/v1/invitations/accept', { token, password: davePassword })).status).toBe(201);

    const noBreakGlass = await stack.http.put(
      `/v1/tenants/${t.tenant.id}/sso`,
      config(idp.issuer, 'keyhold-a', clients.a, { ssoRequired: true }),
      t.token,
    );
    expect(noBreakGlass.body.error.code).toBe('SSO_BREAK_GLASS_INVALID');
    const put = await stack.http.put(
      `/v1/tenants/${t.tenant.id}/sso`,
      config(idp.issuer, 'keyhold-a', clients.a, { ssoRequired: true, breakGlassAdminUserId: breakGlass }),
      t.token,
    );
    expect(put.status).toBe(200);

    const dave = await stack.http.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: t.tenant.id,
      username: 'dave@acme.test',
      password: davePassword,
    });
    expect([dave.status, dave.body.error.code]).toEqual([403, 'SSO_REQUIRED']);
    // A wrong password stays the generic answer: SSO_REQUIRED is only said to someone who knew the password.
    const wrong = await stack.http.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: t.tenant.id,
      username: 'dave@acme.test',
      password: 'wrong-password-123',
    });
    expect([wrong.status, wrong.body.error.code]).toEqual([400, 'INVALID_GRANT']);
    const glass = await stack.http.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: t.tenant.id,
      username: t.email,
      password: t.password,
    });
    expect(glass.status).toBe(200);
    // Turning it off restores password sign-in.
    expect(
      (
        await stack.http.put(
          `/v1/tenants/${t.tenant.id}/sso`,
          config(idp.issuer, 'keyhold-a', clients.a),
          glass.body.access_token,
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await stack.http.post('/v1/auth/token', {
          grant_type: 'password',
          tenant_id: t.tenant.id,
          username: 'dave@acme.test',
          password: davePassword,
        })
      ).status,
    ).toBe(200);
  });
});
