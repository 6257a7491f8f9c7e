import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { generate } from 'otplib';
import type { CDPSession, Page } from 'playwright-core';
import { inviteUser } from '../../apps/api/src/dev/onboarding-client';
import { cleanRedisPrefix, startStack, tenantWithAdmin, type TestStack } from '../support/stack';
import { buildConsole, expectAccessible, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * MFA in the console, in the real Chromium against the real API. Passkeys are created and used by Chromium's own
 * WebAuthn stack with a DevTools virtual authenticator (CTAP2, internal transport, resident keys, user
 * verification) — the browser signs real attestations and assertions that @simplewebauthn/server verifies; nothing
 * is mocked. The console is served from `http://localhost:<port>`: WebAuthn refuses IP addresses as relying party
 * ids, so the API's RP ID is `localhost` and its allowed origin that URL.
 */
jest.setTimeout(90_000);

let stack: TestStack;
let browser: TestBrowser;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;
let consoleDir: string;
let origin: string;
let admin: Awaited<ReturnType<typeof tenantWithAdmin>>;
let inviteeEmail: string;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

beforeAll(async () => {
  consoleDir = buildConsole();
  const port = await freePort();
  origin = `http://localhost:${port}`;
  stack = await startStack({ config: { consoleDir, port, publicUrl: origin } });
  admin = await tenantWithAdmin(stack, `Initech-${Date.now().toString(36)}`);
  browser = await openBrowser();
  page = browser.page;
  cdp = await browser.context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  authenticatorId = (
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    })
  ).authenticatorId;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (stack) await cleanRedisPrefix(stack);
  await stack?.close();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

async function passwordStep(email: string, password: string) {
  await page.goto(`${origin}/#/`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in to your tenant' }).waitFor();
  await page.getByLabel('Tenant id').fill(admin.tenant.id);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function passkeyRow(userEmail: string) {
  const rows = await stack.api.services.ds.query(
    `SELECT f.id, f.sign_count::int AS "signCount", f.label FROM admin_mfa_factors f JOIN admin_users u ON u.tenant_id = f.tenant_id AND u.id = f.admin_user_id
     WHERE f.tenant_id = $1 AND u.email = $2 AND f.kind = 'passkey'`,
    [admin.tenant.id, userEmail],
  );
  return rows as Array<{ id: string; signCount: number; label: string }>;
}

describe('console: MFA', () => {
  it('enrols a passkey on the Security page (virtual authenticator) and shows the recovery codes once', async () => {
    await passwordStep(admin.email, admin.password);
    await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
    await page.getByRole('link', { name: 'Security' }).click();
    await page.getByRole('heading', { level: 1, name: 'Security' }).waitFor();
    await page.getByText('No second factor yet').waitFor();
    await expectAccessible(page, 'security (no factor)');

    await page.getByLabel('Name for this passkey').fill('Test laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('The passkey “Test laptop” was added.').waitFor();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    const codes = await page.getByRole('list', { name: 'Recovery codes' }).locator('code').allInnerTexts();
    expect(codes).toHaveLength(10);
    await page.locator('tr[data-factor="passkey"]', { hasText: 'Test laptop' }).waitFor();

    // The credential lives in Chromium's authenticator, bound to the configured RP ID; the server keeps its public key.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toEqual(expect.objectContaining({ rpId: 'localhost', isResidentCredential: true }));
    expect(await passkeyRow(admin.email)).toEqual([expect.objectContaining({ label: 'Test laptop' })]);
    await screenshot(page, '16-mfa-security');
  });

  it('adds an authenticator app (TOTP) on the same page', async () => {
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = await page.locator('[data-totp-secret]').getAttribute('data-totp-secret');
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    await page.getByRole('img', { name: /QR code of your authenticator key/ }).waitFor();
    await page.getByRole('heading', { name: 'Authenticator app' }).scrollIntoViewIfNeeded();
    await screenshot(page, '19-mfa-totp-setup');
    await page.getByLabel('6-digit code from the app').fill(await generate({ secret: secret! }));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('The authenticator app was added.').waitFor();
    await page.locator('tr[data-factor="totp"]').waitFor();
    // Not the first factor: no new recovery codes.
    expect(await page.getByRole('heading', { name: 'Your recovery codes' }).count()).toBe(0);
  });

  it('signs out, then signs in with the password and the passkey; the signature counter advances', async () => {
    const before = (await passkeyRow(admin.email))[0].signCount;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await passwordStep(admin.email, admin.password);
    await page.getByRole('heading', { level: 1, name: 'Confirm it is you' }).waitFor();
    await page.getByLabel('6-digit code').waitFor();
    await expectAccessible(page, 'second sign-in step');
    await screenshot(page, '17-mfa-sign-in');
    // The password step alone left no session behind.
    expect(await page.evaluate('sessionStorage.getItem("keyhold.session")')).toBeNull();
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
    const after = (await passkeyRow(admin.email))[0].signCount;
    expect(after).toBeGreaterThan(before);
    expect(browser.problems).toEqual([]);
  });

  it('under "passkeys required for key admins", a new key admin must register a passkey while signing in', async () => {
    await page.getByRole('link', { name: 'Security' }).click();
    await page.getByLabel('Second factor').selectOption('passkey_required_for_key_admins');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('The policy was saved.').waitFor();
    await expectAccessible(page, 'security (policy)');

    const token = (
      await stack.http.post('/v1/auth/token', {
        grant_type: 'password',
        tenant_id: admin.tenant.id,
        username: admin.email,
        password: admin.password,
      })
    ).body;
    expect(token.methods).toEqual(['passkey']);
    // A key admin in a hurry cannot fall back to the authenticator app: refused in words.
    expect(
      (await stack.http.post('/v1/auth/mfa/totp', { mfa_token: token.mfa_token, code: '123456' })).body.error.code,
    ).toBe('PASSKEY_REQUIRED');

    // The first admin's password-only session from onboarding is still live (enrolling a factor ends no session).
    const invitee = await inviteUser(stack.url, admin.token, admin.tenant.id, {
      email: `ka-${randomBytes(3).toString('hex')}@initech.example.com`,
      role: 'key_admin',
    });
    await passwordStep(invitee.email, invitee.password);
    await page.getByRole('heading', { level: 1, name: 'Set up a second factor' }).waitFor();
    await page.getByText('requires key admins to sign in with a passkey').waitFor();
    expect(await page.getByRole('button', { name: 'Use an authenticator app instead' }).count()).toBe(0);
    await expectAccessible(page, 'enrolment at sign-in');
    await screenshot(page, '18-mfa-enrol-at-sign-in');
    await page.getByRole('button', { name: 'Register a passkey' }).click();
    await page.getByRole('heading', { level: 1, name: 'Save your recovery codes' }).waitFor();
    await expectAccessible(page, 'recovery codes at sign-in');
    await page.getByRole('button', { name: 'I saved them — continue' }).click();
    await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
    expect(await passkeyRow(invitee.email.toLowerCase())).toHaveLength(1);
    inviteeEmail = invitee.email.toLowerCase();
  });

  it("a key admin resets another admin's factors from the Users page (lost device)", async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await passwordStep(admin.email, admin.password);
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
    await page.getByRole('link', { name: 'Users' }).click();
    await page
      .locator('tr[data-user]', { hasText: inviteeEmail })
      .getByRole('button', { name: `Reset MFA: ${inviteeEmail}` })
      .click();
    await page.getByText(`${inviteeEmail}: 1 sign-in factor removed; signed out everywhere.`).waitFor();
    await expectAccessible(page, 'users (MFA reset)');
    expect(await passkeyRow(inviteeEmail)).toHaveLength(0);
    // Not offered for oneself.
    expect(
      await page
        .locator('tr[data-user]', { hasText: admin.email })
        .getByRole('button', { name: /Reset MFA/ })
        .count(),
    ).toBe(0);
  });

  it('a cloned authenticator replaying an old signature counter is refused', async () => {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    const userHandle = Buffer.from(
      (await stack.api.services.adminTokens.verify(admin.token)).sub.replace(/-/g, ''),
      'hex',
    ).toString('base64');
    const mine = credentials.find((c) => c.signCount > 0 && c.userHandle === userHandle);
    expect(mine).toBeDefined();
    // The same key pair in a fresh authenticator whose counter starts again at 0: what a copied key looks like.
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    authenticatorId = (
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      })
    ).authenticatorId;
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...mine!, signCount: 0 } });
    await passwordStep(admin.email, admin.password);
    await page.getByRole('heading', { level: 1, name: 'Confirm it is you' }).waitFor();
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The passkey did not sign you in' });
    await alert.getByText('The passkey was not accepted. Try again, or use another passkey.').waitFor();
    expect(await alert.innerText()).toMatch(/signature counter did not advance/);
    expect(await page.evaluate('sessionStorage.getItem("keyhold.session")')).toBeNull();
  });
});
