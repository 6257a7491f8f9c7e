import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { privateDatabase } from '../support/db';
import { cleanRedisPrefix, startStack, tenantWithAdmin, type TestStack } from '../support/stack';
import { startTestWorker } from '../support/worker';
import { TestReceiver, until } from '../siem/receiver';
import { buildConsole, expectAccessible, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * The console's SIEM page in a real Chromium against the real API and a worker delivering to real receivers on
 * loopback: a healthy destination, one dead-lettered by a failing receiver and brought back with "Retry", and one
 * created from the form with its signing secret shown once. Every state is checked with axe-core (WCAG 2.1 AA).
 */
jest.setTimeout(90_000);

let db: { url: string; drop(): Promise<void> };
let stack: TestStack;
let worker: RunningWorker;
let browser: TestBrowser;
let page: Page;
let consoleDir: string;
let admin: Awaited<ReturnType<typeof tenantWithAdmin>>;
const healthy = new TestReceiver();
const failing = new TestReceiver();

beforeAll(async () => {
  consoleDir = buildConsole();
  db = await privateDatabase();
  stack = await startStack({
    config: { consoleDir, databaseUrl: db.url },
    providerEnv: { KEYHOLD_SIEM_ALLOW_LOOPBACK: 'true' },
  });
  worker = await startTestWorker(
    { ...stack.config, logLevel: 'silent' },
    { schedulers: false, siem: { pollMs: 100, backoffBaseMs: 100, backoffCapMs: 200, maxFailures: 3 } },
  );
  await healthy.start();
  await failing.start();
  failing.status = 503;
  admin = await tenantWithAdmin(stack, `Initech-${Date.now().toString(36)}`);
  browser = await openBrowser();
  page = browser.page;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await worker?.close();
  await healthy.close();
  await failing.close();
  await stack?.close();
  if (stack) await cleanRedisPrefix(stack);
  await db?.drop();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

const base = () => `/v1/tenants/${admin.tenant.id}/siem-destinations`;

async function signIn() {
  await page.goto(`${stack.url}/#/`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('Tenant id').fill(admin.tenant.id);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
}

describe('console: SIEM streaming', () => {
  it('lists destinations with their status; a dead-lettered one is shown with its error and comes back with Retry', async () => {
    const ok = await stack.http.post(
      base(),
      { name: 'soc-webhook', kind: 'webhook', format: 'ocsf', url: `${healthy.url}/keyhold` },
      admin.token,
    );
    const bad = await stack.http.post(
      base(),
      { name: 'splunk-eu', kind: 'splunk-hec', format: 'cef', url: failing.url, token: 'hec-token-0123456789' },
      admin.token,
    );
    expect([ok.status, bad.status]).toEqual([201, 201]);
    await stack.http.post(`/v1/tenants/${admin.tenant.id}/workspaces`, { name: 'payments' }, admin.token);
    await until(
      'dead letter',
      async () =>
        (await stack.http.get(`${base()}/${bad.body.destination.id}`, admin.token)).body.state === 'dead_letter',
    );
    await until(
      'healthy caught up',
      async () => (await stack.http.get(`${base()}/${ok.body.destination.id}`, admin.token)).body.pendingEvents === 0,
    );

    await signIn();
    await page.getByRole('link', { name: 'SIEM streaming' }).click();
    await page.getByRole('heading', { level: 1, name: 'SIEM streaming' }).waitFor();
    const deadRow = page.locator(`tr[data-destination="${bad.body.destination.id}"]`);
    await deadRow.getByText('Stopped (dead letter)').waitFor();
    await deadRow.getByText('receiver answered HTTP 503').waitFor();
    await page.locator(`tr[data-destination="${ok.body.destination.id}"]`).getByText('Delivering, caught up').waitFor();
    expect(await page.locator('body').innerText()).not.toContain('hec-token-0123456789');
    await screenshot(page, '30-siem-streaming');

    failing.status = 200;
    await deadRow.getByRole('button', { name: 'Retry splunk-eu' }).click();
    await deadRow.getByText(/Delivering/).waitFor({ timeout: 20_000 });
    await until('delivered after retry', () =>
      failing.requests.some(
        (r) => r.headers.authorization === 'Splunk hec-token-0123456789' && r.body.toString().includes('CEF:0|Keyhold'),
      ),
    );
    await expectAccessible(page, 'siem after retry');
  });

  it('creates a destination from the form and shows its signing secret once; rotating keeps the old one signing for a day if asked', async () => {
    await page.getByLabel('Name').fill('archive-jsonl');
    await page.getByLabel('Type').selectOption('jsonl');
    await page.getByLabel('Fields').selectOption('native');
    await page.getByLabel('URL').fill(`${healthy.url}/lines`);
    await page.getByRole('button', { name: 'Create destination' }).click();
    const banner = page.getByRole('alert').filter({ hasText: 'Copy the signing secret' });
    await banner.waitFor();
    const secret = (await banner.locator('code.value').first().innerText()).trim();
    expect(secret).toMatch(/^khsiem_/);
    await expectAccessible(page, 'siem secret shown once');
    await page.getByRole('button', { name: 'I have stored the secret' }).click();
    await page.locator('tr', { hasText: 'archive-jsonl' }).waitFor();
    expect(await page.locator('body').innerText()).not.toContain(secret);
    // Rotating asks whether the current secret keeps signing for a day; the new one is shown once.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Rotate secret of archive-jsonl' }).click();
    const rotated = page.getByRole('alert').filter({ hasText: 'Copy the signing secret of “archive-jsonl”' });
    const fresh = (await rotated.locator('code.value').first().innerText()).trim();
    expect(fresh).toMatch(/^khsiem_/);
    expect(fresh).not.toBe(secret);
    const listed = (await stack.http.get(base(), admin.token)).body.destinations.find(
      (d: { name: string }) => d.name === 'archive-jsonl',
    );
    expect(listed.previousSecretExpiresAt).toEqual(expect.any(String));
    await page.getByRole('button', { name: 'I have stored the secret' }).click();
    // A URL to an internal address is refused in words.
    await page.getByLabel('Name').fill('metadata');
    await page.getByLabel('URL').fill('https://169.254.169.254/latest');
    await page.getByRole('button', { name: 'Create destination' }).click();
    await page.getByText(/names an internal address/).waitFor();
    await expectAccessible(page, 'siem refused url');
  });
});
