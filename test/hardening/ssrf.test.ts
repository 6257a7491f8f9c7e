import { Canaries } from '../../hardening/lib/canary';
import { HardeningStack, startHardeningStack } from '../../hardening/lib/stack';
import { seedTenant, SeededTenant } from '../../hardening/lib/world';
import { runSsrf } from '../../hardening/sections/ssrf';

/**
 * SSRF (hardening/sections/ssrf.ts): no tenant-supplied identifier reaches a host outside the allowed suffixes;
 * local http/https canaries on random ports fail the case if contacted.
 */
let stack: HardeningStack;
let t: SeededTenant;

beforeAll(async () => {
  stack = await startHardeningStack();
  t = await seedTenant(stack, 'ssrf');
});
afterAll(async () => stack?.close());

it('the canaries notice a contact (positive control)', async () => {
  const c = await Canaries.start(stack.emulators.tls);
  try {
    await fetch(`http://127.0.0.1:${c.httpPort}/probe`).catch(() => undefined);
    await fetch(`http://[::1]:${c.httpPort}/probe`).catch(() => undefined);
    expect(c.count()).toBeGreaterThanOrEqual(2);
    expect(c.contacts.some((x) => x.request?.includes('/probe'))).toBe(true);
  } finally {
    await c.close();
  }
});

it('no corpus case contacts a canary or is stored as valid', async () => {
  const r = await runSsrf(stack, t);
  process.stdout.write(`ssrf: ${JSON.stringify({ ...r, details: r.details.length })}\n`);
  expect(r.details).toEqual([]);
  expect(r.cases).toBeGreaterThan(80);
  expect(r.accepted).toBe(0);
  expect(r.canaryContacts).toBe(0);
  expect(r.providersConfigured).toEqual(expect.arrayContaining(['aws', 'azure']));
});
