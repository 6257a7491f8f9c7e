import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { seedWorkspaces } from '../../apps/api/src/dev/seed-workspaces';
import { until } from '../siem/receiver';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { awsBoundWorkspace, cleanRedisPrefix, startStack, type TestStack } from '../support/stack';
import { startTestWorker } from '../support/worker';
import { buildConsole, expectAccessible, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * The console's lists on a tenant of 10,000 workspaces, in a real Chromium: the workspaces table searches, filters and
 * pages on the server (50 rows at a time), a selection becomes one bulk bind whose per-workspace results are shown,
 * and the key configuration and service principal lists search on the server too. axe-core clean throughout.
 */
jest.setTimeout(180_000);

let stack: TestStack;
let worker: RunningWorker;
let browser: TestBrowser;
let page: Page;
let consoleDir: string;
let t: Awaited<ReturnType<typeof awsBoundWorkspace>>;
const SEEDED = 10_000;

beforeAll(async () => {
  consoleDir = buildConsole();
  stack = await startStack({ config: { consoleDir } });
  // the bulk bind's items are the worker's work; the stack shares the test database, so its reconciler stays out
  worker = await startTestWorker(
    { ...stack.config, logLevel: 'silent' },
    { schedulers: false, settings: { reconcileStaleMs: 3_600_000 } },
  );
  t = await awsBoundWorkspace(stack);
  await seedWorkspaces(stack.api.services.ds, t.tenant.id, SEEDED, { prefix: 'acme', keyConfigurationId: t.kcId });
  for (const name of ['bulk-target-1', 'bulk-target-2', 'bulk-target-3'])
    await stack.http.post(`${t.base}/workspaces`, { name }, t.token);
  browser = await openBrowser();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await worker?.close();
  await stack?.close();
  if (stack) await cleanRedisPrefix(stack);
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

const rows = () => page.getByRole('table', { name: /^Workspaces/ }).locator('tbody tr');
const names = () => rows().locator('td a').allInnerTexts();

it('searches, filters and pages 10,000 workspaces on the server, and bulk-binds a selection with per-workspace results', async () => {
  const [{ n }] = await stack.api.services.ds.query(`SELECT count(*)::int AS n FROM workspaces WHERE tenant_id = $1`, [
    t.tenant.id,
  ]);
  expect(n).toBeGreaterThanOrEqual(SEEDED);
  const requests: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/workspaces?')) requests.push(r.url());
  });

  await page.goto(`${stack.url}/#/`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('Tenant id').fill(t.tenant.id);
  await page.getByLabel('Email').fill(t.email);
  await page.getByLabel('Password').fill(t.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: t.tenant.name }).waitFor();
  await page.goto(`${stack.url}/#/workspaces`);
  await until('first page', async () => (await rows().count()) === 50, 20_000);
  await expectAccessible(page, 'workspaces table');

  // Pages: 50 at a time, next and back again, with no row twice.
  const first = await names();
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByText('Page 2').waitFor();
  await until('second page', async () => (await names())[0] !== first[0], 10_000);
  const second = await names();
  expect(second).toHaveLength(50);
  expect(second.filter((x) => first.includes(x))).toEqual([]);
  await page.getByRole('button', { name: 'Previous page' }).click();
  await until('back to the first page', async () => (await names())[0] === first[0], 10_000);

  // Search and filter: every row answers them, the page is the server's (the request carries them).
  await page.getByLabel('Find workspaces').fill('analytics');
  await page.getByLabel('Key state').selectOption('access_suspect');
  // the server answers the search and the filter together (the search is sent once the typing pauses)
  await until(
    'both sent',
    async () => requests.some((u) => u.includes('q=analytics') && u.includes('keyState=access_suspect')),
    10_000,
  );
  await until(
    'filtered',
    async () => {
      const shown = await names();
      return shown.length > 0 && shown.every((x) => x.endsWith('-analytics'));
    },
    10_000,
  );
  const states = await rows().locator('td:nth-child(3)').allInnerTexts();
  expect(states.every((s) => s === 'Access suspect')).toBe(true);
  await page.getByLabel('Sort by').selectOption('name');
  await until(
    'sorted by name',
    async () => {
      const shown = await names();
      return shown.length > 1 && shown.join() === [...shown].sort().join();
    },
    10_000,
  );
  await page.evaluate('window.scrollTo(0, 0)');
  await screenshot(page, '33-workspaces-filtered');

  await page.getByLabel('Health').selectOption('degraded');
  await page.getByText('No workspace matches these filters.').waitFor(); // degraded ones are active, never suspect
  await page.getByLabel('Key state').selectOption('');
  await until(
    'degraded only',
    async () =>
      (await rows().locator('td:nth-child(6)').allInnerTexts()).every((h) => h === 'Degraded') &&
      (await rows().count()) > 0,
    10_000,
  );
  await page.getByLabel('Health').selectOption('');

  // Select the three unbound targets (keyboard: Space on the select-all box) and bind them in one operation.
  await page.getByLabel('Find workspaces').fill('bulk-target');
  await until('three targets', async () => (await rows().count()) === 3, 10_000);
  await page.getByLabel('Select every workspace on this page').focus();
  await page.keyboard.press('Space');
  await page.getByText('3 workspaces selected').waitFor();
  await page.getByLabel('Action', { exact: true }).selectOption('bind');
  await page.getByLabel('Key configuration', { exact: true }).last().selectOption({ label: 'k' });
  await expectAccessible(page, 'bulk action bar');
  await page.getByRole('button', { name: 'Apply to 3 workspaces' }).click();
  const result = page.getByRole('region', { name: /Bind of 3 workspaces/ });
  await result.getByRole('heading', { name: 'Bind of 3 workspaces: done' }).waitFor({ timeout: 30_000 });
  expect(await result.locator('tbody tr[data-state="succeeded"]').count()).toBe(3);
  await result.getByText('3 succeeded, 0 failed, 0 in progress.').waitFor();
  // the table is read again once the operation has ended
  await until(
    'bound',
    async () => (await rows().locator('td:nth-child(3)').allInnerTexts()).every((s) => s === 'Active'),
    10_000,
  );
  await expectAccessible(page, 'bulk result');
  await screenshot(page, '34-workspaces-bulk-bind');
  await result.getByRole('button', { name: 'Close results' }).click();
  await result.waitFor({ state: 'detached' });
});

it('searches key configurations and service principals on the server; axe-clean', async () => {
  await stack.http.post(`${t.base}/service-principals`, { name: 'ingest-eu', workspaceIds: [t.wsId] }, t.token);
  await stack.http.post(`${t.base}/service-principals`, { name: 'reporting', workspaceIds: [t.wsId] }, t.token);
  await page.goto(`${stack.url}/#/keys`);
  const kcs = page.getByRole('table', { name: /^Key configurations/ });
  await kcs.getByRole('link', { name: 'k' }).waitFor();
  await page.getByLabel('Cloud').selectOption('gcp');
  await page.getByText('No key configuration matches these filters.').waitFor();
  await expectAccessible(page, 'key configurations filtered');

  await page.goto(`${stack.url}/#/service-principals`);
  const sps = page.getByRole('table', { name: 'Existing service principals' });
  await sps.getByRole('row', { name: /reporting/ }).waitFor();
  await page.getByLabel('Find service principals').fill('ingest');
  await until('searched', async () => (await sps.locator('tbody tr').count()) === 1, 10_000);
  await sps.getByRole('row', { name: /ingest-eu/ }).waitFor();
  // the scope picker finds workspaces among 10,000 by name, on the server
  await page.getByLabel('Find workspaces').fill('acme-000042');
  await page
    .getByLabel(/acme-000042-/)
    .first()
    .waitFor();
  await expectAccessible(page, 'service principals searched');
});
