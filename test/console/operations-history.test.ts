import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { privateDatabase } from '../support/db';
import { awsBoundWorkspace, cleanRedisPrefix, startStack, type TestStack } from '../support/stack';
import { startTestWorker } from '../support/worker';
import { until } from '../siem/receiver';
import { buildConsole, expectAccessible, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * The workspace page's server-side operations history in a real Chromium: operations run by a real worker (one
 * requested through the API, not from this browser) are listed newest first with their results in words, and the
 * kind filter narrows the list. axe-core clean.
 */
jest.setTimeout(120_000);

let db: { url: string; drop(): Promise<void> };
let stack: TestStack;
let worker: RunningWorker;
let browser: TestBrowser;
let page: Page;
let consoleDir: string;

beforeAll(async () => {
  consoleDir = buildConsole();
  db = await privateDatabase();
  stack = await startStack({ config: { consoleDir, databaseUrl: db.url } });
  worker = await startTestWorker({ ...stack.config, logLevel: 'silent' }, { schedulers: false });
  browser = await openBrowser();
  page = browser.page;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await worker?.close();
  await stack?.close();
  if (stack) await cleanRedisPrefix(stack);
  await db?.drop();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

it('lists the operations the server ran on a workspace, newest first, with results in words; the kind filter narrows it', async () => {
  const t = await awsBoundWorkspace(stack);
  const run = async (kind: string) => {
    const r = await stack.http.post(`${t.base}/workspaces/${t.wsId}/operations`, { kind }, t.token);
    expect(r.status).toBe(202);
    await until(
      `${kind} finished`,
      async () =>
        ['succeeded', 'failed'].includes(
          (await stack.http.get(`${t.base}/operations/${r.body.operationId}`, t.token)).body.state,
        ),
      60_000,
      200,
    );
    return r.body.operationId as string;
  };
  const rotation = await run('kek-rotation');
  const check = await run('revocation-check');
  const rewrap = await run('cmk-rewrap');

  await page.goto(`${stack.url}/#/`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('Tenant id').fill(t.tenant.id);
  await page.getByLabel('Email').fill(t.email);
  await page.getByLabel('Password').fill(t.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: t.tenant.name }).waitFor();
  await page.goto(`${stack.url}/#/workspaces/${t.wsId}`);
  const history = page.getByRole('region', { name: 'Operations history' });
  await history
    .locator(`tr[data-history-id="${rotation}"]`)
    .getByText('KEK version 2 is current; retired KEK version 1.')
    .waitFor();
  await history
    .locator(`tr[data-history-id="${check}"]`)
    .getByText('Keyhold can use the customer key: access confirmed.')
    .waitFor();
  await history
    .locator(`tr[data-history-id="${rewrap}"]`)
    .getByText(/Rewrapped KEK version/)
    .waitFor();
  const order = await history
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-history-id')));
  expect(order.slice(0, 3)).toEqual([rewrap, check, rotation]);
  expect(await history.locator('tbody tr').first().innerText()).toMatch(/requested by a key admin/);
  await history.scrollIntoViewIfNeeded();
  await screenshot(page, '31-operations-history');

  await history.getByLabel('Kind').selectOption('kek-rotation');
  await until('filtered', async () => (await history.locator('tbody tr').count()) === 1, 10_000);
  expect(await history.locator('tbody tr').getAttribute('data-history-id')).toBe(rotation);
  await history.getByLabel('State').selectOption('failed');
  await history.getByText('No operations match these filters.').waitFor();
  await expectAccessible(page, 'operations history filtered');
});
