import { HardeningStack, startHardeningStack } from '../../hardening/lib/stack';
import { seedTenant, SeededTenant } from '../../hardening/lib/world';
import { runAudit } from '../../hardening/sections/audit';

/**
 * Audit tamper evidence (hardening/sections/audit.ts): every tampering a database insider can do is reported by the
 * verification route, and every edit of a real export is reported by the offline verifier run as its own process
 * with only Keyhold's public key; the untouched and restored logs verify (positive controls).
 */
let stack: HardeningStack;
let t: SeededTenant;

beforeAll(async () => {
  stack = await startHardeningStack();
  t = await seedTenant(stack, 'audit');
});
afterAll(async () => stack?.close());

it('detects every tampering case, by the route and by the offline verifier', async () => {
  const r = await runAudit(stack, t);
  process.stdout.write(`audit: ${JSON.stringify(r)}\n`);
  expect(r.details).toEqual([]);
  expect(r.cases).toBeGreaterThanOrEqual(20);
  expect(r.routeCases).toBeGreaterThanOrEqual(10);
  expect(r.offlineCases).toBeGreaterThanOrEqual(10);
  expect(r.positiveControls).toBe(r.routeCases + 1);
  expect(r.positiveControlFailures).toBe(0);
  expect(r.undetected).toBe(0);
}, 180_000);
