import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { privateDatabase } from '../support/db';
import { cleanRedisPrefix, startStack, tenantWithAdmin, type TestStack } from '../support/stack';
import { until } from '../siem/receiver';
import { buildConsole, expectAccessible, openBrowser, screenshot, type TestBrowser } from './browser';

/**
 * The audit page's filters in a real Chromium: action prefix, workspace and time range are sent to the server
 * (the request carries them; the rows are the API's answer for the same filters, not a filter of loaded rows),
 * newest first by default, and an empty range says so. axe-core clean, with a screenshot of the filtered page.
 */
jest.setTimeout(120_000);

let db: { url: string; drop(): Promise<void> };
let stack: TestStack;
let browser: TestBrowser;
let page: Page;
let consoleDir: string;

beforeAll(async () => {
  consoleDir = buildConsole();
  db = await privateDatabase();
  stack = await startStack({ config: { consoleDir, databaseUrl: db.url } });
  browser = await openBrowser();
  page = browser.page;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  if (stack) await cleanRedisPrefix(stack);
  await db?.drop();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

it('filters the audit log on the server by action prefix, workspace and time range (axe-clean, screenshot)', async () => {
  const t = await tenantWithAdmin(stack);
  const base = `/v1/tenants/${t.tenant.id}`;
  const ws = randomUUID();
  const other = randomUUID();
  const sp = `service_principal:${randomUUID()}`;
  const at = (m: number) => new Date(Date.now() - (200 - m) * 60_000);
  // More events than one page of the console (100), so a client-side filter of the first page would miss some.
  await stack.api.services.audit.appendMany(t.tenant.id, [
    {
      actor: sp,
      action: 'dek.issued',
      target: `workspace:${ws}`,
      outcome: 'success',
      at: at(0),
      details: { count: 3 },
    },
    ...Array.from({ length: 150 }, (_, i) => ({
      actor: 'system',
      action: 'kms.aws.decrypt',
      target: 'arn:aws:kms:eu-west-1:111122223333:key/k',
      outcome: 'success',
      details: { workspaceId: other },
      at: at(10 + i / 10),
    })),
    { actor: sp, action: 'dek.access_denied', target: `workspace:${ws}`, outcome: 'denied', at: at(100) },
    { actor: sp, action: 'dek.issued', target: `workspace:${other}`, outcome: 'success', at: at(110) },
    { actor: sp, action: 'dek.issued', target: `workspace:${ws}`, outcome: 'success', at: at(120) },
  ]);
  // Sealed now, so the page's tamper-evidence panel verifies the back-dated records too.
  expect((await stack.http.post(`${base}/audit-events/checkpoints`, {}, t.token)).status).toBe(200);
  const requests: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/audit-events?')) requests.push(decodeURIComponent(r.url()));
  });

  await page.goto(`${stack.url}/#/`);
  await page.evaluate('sessionStorage.clear()');
  await page.reload();
  await page.getByLabel('Tenant id').fill(t.tenant.id);
  await page.getByLabel('Email').fill(t.email);
  await page.getByLabel('Password').fill(t.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: t.tenant.name }).waitFor();
  await page.goto(`${stack.url}/#/audit`);
  const rows = page.locator('table.audit tbody tr');
  await rows.first().waitFor();
  // Newest first by default, one page of 100.
  expect(await rows.count()).toBe(100);
  const seqs = await rows.evaluateAll((rs) => rs.map((r) => Number(r.querySelector('td')?.textContent)));
  expect(seqs).toEqual([...seqs].sort((a, b) => b - a));

  await page.getByLabel('Actions or prefixes (comma-separated)').fill('dek.');
  await page.getByLabel('Workspace ID').fill(ws);
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await until('filtered', async () => (await rows.count()) === 3, 10_000);
  const actions = await rows.evaluateAll((rs) => rs.map((r) => r.querySelectorAll('td')[3]?.textContent));
  expect(actions).toEqual(['dek.issued', 'dek.access_denied', 'dek.issued']);
  expect(requests.some((u) => u.includes('action=dek.') && u.includes(`workspaceId=${ws}`))).toBe(true);
  const api = await stack.http.get(`${base}/audit-events?action=dek.&workspaceId=${ws}&order=desc`, t.token);
  const shownSeqs = await rows.evaluateAll((rs) => rs.map((r) => Number(r.querySelector('td')?.textContent)));
  expect(shownSeqs).toEqual(api.body.events.map((e: { seq: number }) => e.seq));
  await page.getByText('Showing 3 matching events, newest first.').waitFor();
  await page.getByRole('search', { name: 'Filter audit events' }).scrollIntoViewIfNeeded();
  await page.getByLabel('Order').focus();
  await screenshot(page, '36-audit-filtered');

  // A time range (local times in the form, instants on the wire): the first two of the three.
  const local = (d: Date) => {
    const l = new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
    return l.toISOString().slice(0, 16);
  };
  await page.getByLabel('From', { exact: true }).fill(local(at(-1)));
  await page.getByLabel('To', { exact: true }).fill(local(at(101)));
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await until('time range', async () => (await rows.count()) === 2, 10_000);
  expect(requests.some((u) => /from=\d{4}-\d\d-\d\dT[\d:.]+Z/.test(u) && /to=\d{4}-/.test(u))).toBe(true);
  await page.getByLabel('From', { exact: true }).fill(local(new Date(Date.now() + 3_600_000)));
  await page.getByLabel('To', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText('Showing 0 matching events, newest first.').waitFor();
  await expect(rows.count()).resolves.toBe(0);

  // A bad workspace id is the server's 400, shown with its reason.
  await page.getByLabel('From', { exact: true }).fill('');
  await page.getByLabel('Workspace ID').fill('not-a-workspace');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText(/workspaceId/).waitFor();
  await expectAccessible(page, 'audit page with a refused filter');

  await page.getByRole('button', { name: 'Clear' }).click();
  await until('cleared', async () => (await rows.count()) === 100, 10_000);
});
