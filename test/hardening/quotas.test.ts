import { HardeningStack, startHardeningStack } from '../../hardening/lib/stack';
import { seedTenant, SeededTenant } from '../../hardening/lib/world';
import { runQuotas } from '../../hardening/sections/quotas';

/**
 * DEK creation limits under attack (hardening/sections/quotas.ts): concurrency, oversized and parallel batches,
 * case variants of ids, two replicas at once, creates racing segment destroys. `quota_bypasses` must be 0, and the
 * positive controls (the limits do refuse, legitimate creations do pass) must hold so the figure is not vacuous.
 */
let stack: HardeningStack;
let t: SeededTenant;

beforeAll(async () => {
  stack = await startHardeningStack();
  t = await seedTenant(stack, 'quotas');
});
afterAll(async () => stack?.close());

it('no attempt creates more DEKs than the quota, the rate or the wrap cap allow, nor revives a destroyed segment', async () => {
  const r = await runQuotas(stack, t);
  process.stdout.write(`quotas: ${JSON.stringify({ ...r, details: r.details.length })}\n`);
  expect(r.details).toEqual([]);
  expect(r.attempts).toBeGreaterThanOrEqual(7);
  expect(r.requests).toBeGreaterThan(100);
  expect(r.refusals).toBeGreaterThan(20);
  expect(r.positiveControls).toBeGreaterThanOrEqual(4);
  expect(r.unexpected).toBe(0);
  expect(r.bypasses).toBe(0);
});
