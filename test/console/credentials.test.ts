import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { adminToken, inviteUser, mailboxToken, newTestPassword } from '../../apps/api/src/dev/onboarding-client';
import { startStack, tenantWithAdmin, type TestStack } from '../support/stack';
import { accessibilityViolations, buildConsole, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * The console's user management in a real Chromium against the real API: inviting someone, the invitee accepting
 * from the emailed link (read from the dev mailbox, as the invitee would from their inbox), disabling a user (their
 * token stops working at once), the password pages. Every page is checked with axe-core (WCAG 2.1 AA).
 */
jest.setTimeout(60_000);

let stack: TestStack;
let browser: TestBrowser;
let page: Page;
let consoleDir: string;
let admin: Awaited<ReturnType<typeof tenantWithAdmin>>;

beforeAll(async () => {
  consoleDir = buildConsole();
  stack = await startStack({ config: { consoleDir } });
  admin = await tenantWithAdmin(stack, `Globex-${Date.now().toString(36)}`);
  browser = await openBrowser();
  page = browser.page;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

async function expectAccessible() {
  expect(await accessibilityViolations(page)).toEqual([]);
}

async function signIn(email: string, password: string) {
  await page.goto(`${stack.url}/#/`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in to your tenant' }).waitFor();
  await page.getByLabel('Tenant id').fill(admin.tenant.id);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
}

describe('console: users and invitations', () => {
  const invitee = `dana-${randomBytes(3).toString('hex')}@globex.example.com`;

  it('a key admin invites someone; the link is mailed, never shown', async () => {
    await signIn(admin.email, admin.password);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page.getByLabel('Email').fill(invitee);
    await page.getByLabel('Role').selectOption('key_admin');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`Invitation sent to ${invitee}`).waitFor();
    const token = await mailboxToken(stack.url, invitee, 'invitation');
    expect(await page.locator('body').innerText()).not.toContain(token);
    await page.locator('tr[data-invitation]', { hasText: invitee }).getByText('pending').waitFor();
    await expectAccessible();
  });

  it('the invitee accepts from the emailed link, choosing their own password', async () => {
    const token = await mailboxToken(stack.url, invitee, 'invitation');
    await page.evaluate('sessionStorage.clear()');
    await page.goto(`${stack.url}/#/accept-invitation/${token}`);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Accept your invitation' }).waitFor();
    await page.getByText(invitee).waitFor();
    await expectAccessible();
    await screenshot(page, '11-accept-invitation');
    // A weak password is refused in words, and does not use the invitation up.
    await page.getByLabel('New password', { exact: true }).fill('password1234');
    await page.getByLabel('Repeat the new password').fill('password1234');
    await page.getByRole('button', { name: 'Set password and accept' }).click();
    await page.getByRole('alert').getByText('Choose a stronger password').waitFor();
    const password = newTestPassword();
    await page.getByLabel('New password', { exact: true }).fill(password);
    await page.getByLabel('Repeat the new password').fill(password);
    await page.getByRole('button', { name: 'Set password and accept' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account is ready' }).waitFor();
    await expectAccessible();
    expect(await adminToken(stack.url, admin.tenant.id, invitee, password)).toMatch(/\./);
    // The link is used up.
    await page.goto(`${stack.url}/#/`);
    await page.goto(`${stack.url}/#/accept-invitation/${token}`);
    await page.getByRole('alert').getByText('This invitation cannot be used').waitFor();
  });

  it('disabling a user signs them out at once; the last key admin is protected', async () => {
    const victim = await inviteUser(stack.url, admin.token, admin.tenant.id, {
      email: `eve-${randomBytes(3).toString('hex')}@globex.example.com`,
      role: 'auditor',
    });
    expect((await stack.http.get(`/v1/tenants/${admin.tenant.id}/workspaces`, victim.token)).status).toBe(200);
    await signIn(admin.email, admin.password);
    await page.getByRole('link', { name: 'Users' }).click();
    const row = page.locator('tr[data-user]', { hasText: victim.email });
    await row.getByRole('button', { name: `Disable ${victim.email}` }).click();
    await page.getByText(`${victim.email} was disabled and signed out everywhere.`).waitFor();
    await row.getByText('Disabled').waitFor();
    expect((await stack.http.get(`/v1/tenants/${admin.tenant.id}/workspaces`, victim.token)).status).toBe(401);
    await expectAccessible();
    await screenshot(page, '10-users');
    // The admin's own row: demoting it would leave... no, the invitee above is a key admin too. Disable that one
    // and then try to disable yourself: refused in words.
    await page
      .locator('tr[data-user]', { hasText: invitee })
      .getByRole('button', { name: `Disable ${invitee}` })
      .click();
    await page.getByText(`${invitee} was disabled`).waitFor();
    await page
      .locator('tr[data-user]', { hasText: admin.email })
      .getByRole('button', { name: `Disable ${admin.email}` })
      .click();
    await page.getByRole('alert').getByText('This is the last enabled key admin').waitFor();
  });

  it('changes the password from "Your account" and asks to sign in again; the password pages are accessible', async () => {
    await page.getByRole('link', { name: 'Your account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    await expectAccessible();
    await screenshot(page, '12-account-password');
    const next = newTestPassword();
    await page.getByLabel('Current password').fill(admin.password);
    await page.getByLabel('New password', { exact: true }).fill(next);
    await page.getByLabel('Repeat the new password').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Sign in to your tenant' }).waitFor();
    expect((await stack.http.get(`/v1/tenants/${admin.tenant.id}/workspaces`, admin.token)).status).toBe(401);
    admin.password = next;
    admin.token = await adminToken(stack.url, admin.tenant.id, admin.email, next);
    // Forgot password: same answer for anyone; the reset link sets a new one.
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    await expectAccessible();
    await page.getByLabel('Tenant id').fill(admin.tenant.id);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByRole('button', { name: 'Email me a reset link' }).click();
    await page.getByText('If this account exists').waitFor();
    const token = await mailboxToken(stack.url, admin.email, 'password_reset');
    await page.goto(`${stack.url}/#/reset-password/${token}`);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await expectAccessible();
    const reset = newTestPassword();
    await page.getByLabel('New password', { exact: true }).fill(reset);
    await page.getByLabel('Repeat the new password').fill(reset);
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByText('Your password was changed').waitFor();
    expect(await adminToken(stack.url, admin.tenant.id, admin.email, reset)).toMatch(/\./);
    expect(browser.problems.filter((p) => !/status of 40[0-9]/.test(p))).toEqual([]);
  });
});
