import { HardeningStack, startHardeningStack } from '../../hardening/lib/stack';
import { seedTenant, SeededTenant } from '../../hardening/lib/world';
import { runTokens } from '../../hardening/sections/tokens';

/**
 * Token and secret hygiene (hardening/sections/tokens.ts): expired, tampered, wrong-audience, alg=none and
 * replayed-after-disable tokens are refused; brute force on the token endpoint meets 429 + Retry-After.
 */
let stack: HardeningStack;
let t: SeededTenant;
let victim: SeededTenant;

beforeAll(async () => {
  stack = await startHardeningStack();
  t = await seedTenant(stack, 'tok');
  victim = await seedTenant(stack, 'victim');
});
afterAll(async () => stack?.close());

it('refuses every forged, stale or misdirected token and rate limits brute force', async () => {
  const r = await runTokens(stack, t, victim);
  process.stdout.write(`tokens: ${JSON.stringify({ ...r, details: r.details.length })}\n`);
  expect(r.details).toEqual([]);
  expect(r.cases).toBeGreaterThan(25);
  expect(r.accepted).toBe(0);
  expect(r.replayAfterDisable).toBe('refused');
  expect(r.rateLimited).toBe(true);
  expect(r.retryAfterSeconds).toBeGreaterThan(0);
  expect(r.rightPasswordAlsoLimited).toBe(true);
});
