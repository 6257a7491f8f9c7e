import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { awsBoundWorkspace, cleanRedisPrefix, startStack, type TestStack } from '../support/stack';
import { buildConsole, expectAccessible, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * Key access justifications in a real Chromium: the workspace page charts key use by reason (an SVG with a title
 * and a text summary, and the same numbers as a data table), counts refused requests, and lets the key admin set
 * the workspace's reason policy and a service principal's allowed reasons. axe-core clean.
 */
jest.setTimeout(120_000);

let stack: TestStack;
let browser: TestBrowser;
let page: Page;
let consoleDir: string;

beforeAll(async () => {
  consoleDir = buildConsole();
  stack = await startStack({ config: { consoleDir } });
  browser = await openBrowser();
  page = browser.page;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  if (stack) await cleanRedisPrefix(stack);
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

it('charts key use by reason with a data table, counts refusals, and sets the reason policies', async () => {
  const t = await awsBoundWorkspace(stack);
  const get = (seg: string, reason?: string) =>
    stack.http.request('GET', t.dekPath(seg), {
      token: t.svc,
      headers: reason ? { 'keyhold-access-reason': reason } : {},
    });
  for (let i = 0; i < 6; i++) expect((await get(`s${i % 3}`, 'CUSTOMER_INITIATED')).status).toBe(200);
  for (let i = 0; i < 3; i++) expect((await get('s0', 'BACKUP')).status).toBe(200);
  for (let i = 0; i < 2; i++) expect((await get('s1', 'SCHEDULED_JOB')).status).toBe(200);
  expect((await get('s2')).status).toBe(200);
  for (let i = 0; i < 4; i++) expect((await get('s0', 'VENDOR_SUPPORT')).status).toBe(403);
  stack.api.services.issuance.flush(true);
  // Earlier minutes of another principal's use, through the same aggregator and audit path (only the clock is
  // set back), so the chart has a history to draw: 45 minutes ago to 5 minutes ago.
  const other = await t.principal();
  const tally = stack.api.services.issuance.tally(t.tenant.id, other.id, t.wsId);
  const now = Date.now();
  let history = 0;
  for (let m = 45; m >= 5; m -= 4) {
    const at = now - m * 60_000;
    const counts = [2 + (m % 3), 1 + (m % 5), m % 4, m % 2]; // slots: CUSTOMER_INITIATED, SCHEDULED_JOB, BACKUP, MIGRATION
    counts.forEach((n, i) => n > 0 && tally.add(n, at, i + 1));
    history += counts.reduce((x, y) => x + y, 0);
  }
  stack.api.services.issuance.flush(true);
  await stack.api.services.auditBuffer.flush();

  await page.goto(`${stack.url}/#/`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('Tenant id').fill(t.tenant.id);
  await page.getByLabel('Email').fill(t.email);
  await page.getByLabel('Password').fill(t.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: t.tenant.name }).waitFor();
  await page.goto(`${stack.url}/#/workspaces/${t.wsId}`);

  const use = page.getByRole('region', { name: 'Key use by reason' });
  await use.getByLabel('Period').selectOption('minute');
  const summary = use.locator('[data-key-use-summary]');
  await summary.getByText(`${12 + history} data keys issued`, { exact: false }).waitFor();
  expect(await summary.innerText()).toMatch(
    /^\d+ data keys issued: No reason given 1, Customer initiated \d+, Scheduled job \d+, Backup \d+, Migration \d+\./,
  );
  expect(await summary.innerText()).toMatch(/4 requests refused: Vendor's support staff 4/);
  const chart = use.getByRole('img', { name: /Key use by reason, last hour, by minute/ });
  await chart.waitFor();
  expect(await chart.locator('rect').count()).toBeGreaterThanOrEqual(4);
  await use.getByText('Show the numbers as a table').click();
  const table = use.getByRole('table', { name: /Data keys issued by reason/ });
  const headers = await table.locator('thead th').allInnerTexts();
  expect(headers).toEqual([
    'Period starting',
    'No reason given',
    'Customer initiated',
    'Scheduled job',
    'Backup',
    'Migration',
  ]);
  const cells = await table
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => Number(c.textContent))));
  // eleven earlier minutes, then this test's use through the DEK API (one minute, or two if it crossed a boundary)
  expect(cells.length).toBeGreaterThanOrEqual(12);
  expect(cells.slice(11).reduce((acc, row) => acc.map((v, i) => v + row[i]), [0, 0, 0, 0, 0])).toEqual([1, 6, 2, 3, 0]);
  expect(cells.flat().reduce((x, y) => x + y, 0)).toBe(12 + history);
  await use.scrollIntoViewIfNeeded();
  await screenshot(page, '35-key-use-by-reason');

  // the key admin refuses MIGRATION and requires a reason: the DEK API follows at once
  const policy = page.getByRole('region', { name: 'Access reasons' });
  await policy.getByLabel(/Migration/).check();
  await policy.getByLabel('Require a reason on every data key request').check();
  await policy.getByRole('button', { name: 'Save access-reason policy' }).click();
  await policy.getByRole('status').getByText(/Saved/).waitFor();
  expect((await stack.http.get(`${t.base}/workspaces/${t.wsId}/access-reason-policy`, t.token)).body).toEqual({
    workspaceId: t.wsId,
    deniedReasons: ['MIGRATION'],
    requireReason: true,
  });
  expect((await get('s0')).body.error.code).toBe('REASON_REQUIRED');
  expect((await get('s0', 'MIGRATION')).body.error.code).toBe('REASON_DENIED');
  await expectAccessible(page, 'workspace access-reason policy');

  // a service principal's allowed reasons, in its panel
  await page.goto(`${stack.url}/#/service-principals`);
  await page
    .getByRole('button', { name: /Manage/ })
    .first()
    .click();
  const allowed = page.getByRole('group', { name: /may give for a data key/ });
  await allowed.getByLabel("Vendor's support staff").check();
  const reread = page.waitForResponse(
    (r) => r.url().includes('/access-reasons') && r.request().method() === 'GET' && r.status() === 200,
  );
  await page.getByRole('button', { name: 'Save allowed reasons' }).click();
  await reread;
  const sps = (await stack.http.get(`${t.base}/service-principals`, t.token)).body as
    Array<{ id: string }> | { servicePrincipals: Array<{ id: string }> };
  const ids = Array.isArray(sps) ? sps.map((x) => x.id) : sps.servicePrincipals.map((x) => x.id);
  const reasons = await Promise.all(
    ids.map(
      async (id) =>
        (await stack.http.get(`${t.base}/service-principals/${id}/access-reasons`, t.token)).body
          .allowedReasons as string[],
    ),
  );
  expect(reasons.some((r) => r.includes('VENDOR_SUPPORT'))).toBe(true);
  await expectAccessible(page, 'service principal allowed reasons');
});
