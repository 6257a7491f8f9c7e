import { KeyMaterialLedger } from '../../hardening/lib/key-material';
import { HardeningStack, startHardeningStack } from '../../hardening/lib/stack';
import { seedTenant } from '../../hardening/lib/world';
import { runResidue } from '../../hardening/sections/residue';

/**
 * The residue section (hardening/sections/residue.ts) at test size: after re-key + revocation shred and after a
 * DELETE, nothing stored for either workspace opens under the still-trusted key, and the destroyed workspace is
 * never served. The positive control must open something first, or the zero proves nothing.
 */
let stack: HardeningStack;

beforeAll(async () => {
  stack = await startHardeningStack({ privateRedis: true, privatePostgres: true, config: { kekCacheTtlSeconds: 2 } });
});
afterAll(async () => stack?.close());

it('residue_forms_unwrapped = 0 and destroyed_workspaces_served = 0, with a positive control', async () => {
  const r = await runResidue(stack, await seedTenant(stack, 'residue'), new KeyMaterialLedger());
  process.stdout.write(`residue: ${JSON.stringify(r)}\n`);
  expect(r.details).toEqual([]);
  expect(r.positiveControl).toBeGreaterThan(0);
  expect(r.formsTried).toBeGreaterThan(100);
  expect(r.formsUnwrapped).toBe(0);
  expect(r.destroyedRequests).toBe(3);
  expect(r.destroyedServed).toBe(0);
  expect(r.destroyedRowsLeft).toBe(0);
}, 240_000);
