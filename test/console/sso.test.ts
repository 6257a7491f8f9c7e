import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { freePort } from '../sso/flow';
import { Idp, startIdp } from '../sso/idp';
import { cleanRedisPrefix, startStack, tenantWithAdmin, type TestStack } from '../support/stack';
import { buildConsole, expectAccessible, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * Single sign-on in the console, in a real Chromium against the real API and a real OpenID Connect provider
 * (oidc-provider in a child process): the key admin configures SSO, signs out, and signs in again through the
 * IdP's own login page; an unmapped user lands on the SSO error page. Every new page is checked with axe-core.
 */
jest.setTimeout(120_000);

let stack: TestStack;
let idp: Idp;
let browser: TestBrowser;
let page: Page;
let consoleDir: string;
let admin: Awaited<ReturnType<typeof tenantWithAdmin>>;
const clientSecret = randomBytes(24).toString('base64url');

beforeAll(async () => {
  consoleDir = buildConsole();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  idp = await startIdp(
    [{ client_id: 'keyhold-console', client_secret: clientSecret, redirect_uris: [`${url}/v1/sso/callback`] }],
    {
      'alice@initech.example': { email: 'alice@initech.example', groups: ['keyhold-admins'] },
      'carol@initech.example': { email: 'carol@initech.example', groups: ['everyone'] },
    },
  );
  stack = await startStack({
    config: { consoleDir, port, publicUrl: url },
    providerEnv: { KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS: '1' },
  });
  admin = await tenantWithAdmin(stack, `Initech-${Date.now().toString(36)}`);
  browser = await openBrowser();
  page = browser.page;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (stack) {
    await cleanRedisPrefix(stack);
    await stack.close();
  }
  await idp?.close();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

async function ssoThroughIdp(login: string) {
  await page.goto(`${stack.url}/#/`);
  await page.getByRole('link', { name: 'Sign in with SSO' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in with SSO' }).waitFor();
  await page.getByLabel('Tenant id').fill(admin.tenant.id);
  await page.getByRole('button', { name: 'Continue with SSO' }).click();
  // The IdP's own login page (oidc-provider's interaction form), on the IdP's origin.
  await page.waitForURL((u) => u.href.startsWith(idp.issuer));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
}

describe('console: single sign-on', () => {
  it('the key admin configures SSO for the tenant', async () => {
    await page.goto(`${stack.url}/#/`);
    await page.getByLabel('Tenant id').fill(admin.tenant.id);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
    await page.getByRole('link', { name: 'Single sign-on' }).click();
    await page.getByRole('heading', { level: 1, name: 'Single sign-on' }).waitFor();
    await page.getByText(`${stack.url}/v1/sso/callback`).waitFor();
    await expectAccessible(page, 'sso settings (empty)');
    await page.getByLabel('Issuer URL').fill(idp.issuer);
    await page.getByLabel('Client id').fill('keyhold-console');
    await page.getByLabel('Client secret').fill(clientSecret);
    await page.getByLabel('Allowed email domains').fill('initech.example');
    await page.getByLabel('Groups that make a key admin').fill('keyhold-admins');
    await page.getByRole('button', { name: 'Save SSO settings' }).click();
    await page.getByText('The SSO settings were saved').waitFor();
    // The secret field is emptied and the page never shows the secret again.
    expect(await page.getByLabel('Client secret').inputValue()).toBe('');
    expect(await page.locator('body').innerText()).not.toContain(clientSecret);
    await page.getByRole('heading', { level: 1, name: 'Single sign-on' }).scrollIntoViewIfNeeded();
    await screenshot(page, '30-sso-settings');
  });

  it('after signing out, "Sign in with SSO" goes through the IdP login page and back into the console', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to your tenant' }).waitFor();
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in with SSO' }).waitFor();
    await page.getByLabel('Tenant id').fill(admin.tenant.id);
    await screenshot(page, '31-sso-sign-in');
    await ssoThroughIdp('alice@initech.example');
    await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
    await page.getByText('alice@initech.example').first().waitFor();
    expect(await page.locator('.who').innerText()).toContain('Key admin');
    // The token came through POST /v1/sso/session, never through a URL.
    expect(page.url()).not.toMatch(/code=|token|state=/);
    await expectAccessible(page, 'overview after SSO');
  });

  it('a user in no mapped group is refused, on an accessible error page that names the code', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await browser.context.clearCookies();
    await ssoThroughIdp('carol@initech.example');
    await page.getByRole('heading', { level: 1, name: 'Single sign-on did not complete' }).waitFor();
    await page.getByText('SSO_NO_ROLE_MAPPING').waitFor();
    expect(page.url()).toContain('#/sso-error/SSO_NO_ROLE_MAPPING');
    await screenshot(page, '32-sso-error');
    // Coming back without a finished sign-in: the completion page says so, accessibly.
    await page.goto(`${stack.url}/#/sso-complete`);
    await page.getByText('Single sign-on did not complete').waitFor();
    await expectAccessible(page, 'sso complete without a sign-in');
    // No script error and no 5xx anywhere (the IdP's dev login page fetches web fonts and a favicon it cannot reach:
    // those console messages are the IdP's, not ours).
    expect(browser.problems.filter((p) => p.startsWith('pageerror') || p.startsWith('HTTP 5'))).toEqual([]);
  });
});
