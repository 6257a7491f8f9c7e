import { HardeningStack, startHardeningStack } from '../../hardening/lib/stack';
import { seedTenant, SeededTenant } from '../../hardening/lib/world';
import { runSpRevocation } from '../../hardening/sections/sp-revocation';

/**
 * Service-principal revocation across two API replicas over one database and Redis prefix
 * (hardening/sections/sp-revocation.ts): every kind of change reaches the other replica's caches within 2 s,
 * including when its pub/sub message is lost, and no revoked credential works afterwards.
 */
let stack: HardeningStack;
let t: SeededTenant;

beforeAll(async () => {
  stack = await startHardeningStack();
  t = await seedTenant(stack, 'rev');
}, 120_000);
afterAll(async () => stack?.close());

it('disable, delete, secret revocation, rotation, scope narrowing and overlap end reach the other replica within 2 s', async () => {
  const r = await runSpRevocation(stack, t);
  process.stdout.write(
    `sp_revocation_propagation_ms (other replica, per kind): ${JSON.stringify(r.propagationMs)}; revoked_sp_credential_uses: ${r.revokedUses}/${r.attemptsAfterRevocation}\n`,
  );
  expect(r.details).toEqual([]);
  expect(Object.keys(r.propagationMs).sort()).toEqual(
    [
      'deleted',
      'disabled',
      'disabled_message_lost',
      'overlap_ended',
      'scope_narrowed',
      'secret_revoked',
      'secret_rotated_no_overlap',
    ].sort(),
  );
  for (const [kind, ms] of Object.entries(r.propagationMs))
    expect([kind, typeof ms === 'number' && ms <= 2_000]).toEqual([kind, true]);
  expect(r.worstMs).toBeLessThanOrEqual(2_000);
  expect(r.attemptsAfterRevocation).toBeGreaterThanOrEqual(30);
  expect(r.revokedUses).toBe(0);
}, 120_000);
