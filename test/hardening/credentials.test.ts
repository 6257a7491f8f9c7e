import { HardeningStack, startHardeningStack } from '../../hardening/lib/stack';
import { seedTenant, SeededTenant } from '../../hardening/lib/world';
import { runCredentials } from '../../hardening/sections/credentials';

/**
 * Who can act for a tenant (hardening/sections/credentials.ts): nothing the operator saw at onboarding gets it
 * inside a tenant, and no revoked admin credential is accepted by either of two API replicas.
 */
let stack: HardeningStack;
let t: SeededTenant;

beforeAll(async () => {
  stack = await startHardeningStack();
  t = await seedTenant(stack, 'creds');
});
afterAll(async () => stack?.close());

it('keeps the operator out of tenants and refuses every revoked admin credential on every replica', async () => {
  const r = await runCredentials(stack, t);
  process.stdout.write(`credentials: ${JSON.stringify({ ...r, details: r.details })}\n`);
  expect(r.details).toEqual([]);
  expect(r.operatorAttempts).toBeGreaterThan(30);
  expect(r.operatorTenantAccess).toBe(0);
  expect(r.revokedCases).toBeGreaterThanOrEqual(12);
  expect(r.revokedCredentialUses).toBe(0);
  expect(r.adminRevocationPropagationMs).not.toBeNull();
  expect(r.adminRevocationPropagationMs!).toBeLessThanOrEqual(2000);
  // The product is unharmed afterwards (the second replica came and went): a new tenant onboards as usual.
  try {
    await seedTenant(stack, 'after');
  } catch (err) {
    const errors = stack
      .logs()
      .split('\n')
      .filter((l) => /"level":(50|40)/.test(l))
      .slice(-5);
    throw new Error(`${(err as Error).message}\n${errors.join('\n')}`);
  }
});
