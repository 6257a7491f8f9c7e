import { KeyMaterialLedger } from '../../hardening/lib/key-material';
import { HardeningStack, startHardeningStack } from '../../hardening/lib/stack';
import { seedTenant, SeededTenant } from '../../hardening/lib/world';
import { runFuzz } from '../../hardening/sections/fuzz';

/**
 * Hostile input (hardening/sections/fuzz.ts), smaller than the full run: every endpoint's bodies, path and query
 * parameters fuzzed with fast-check against the real API; never a 5xx, always an error code, and the database is
 * unchanged by every rejected request.
 */
let stack: HardeningStack;
let t: SeededTenant;

beforeAll(async () => {
  stack = await startHardeningStack();
  t = await seedTenant(stack, 'fuzz');
});
afterAll(async () => stack?.close());

it('no 5xx, an error code on every rejection, no table changed by a rejected request', async () => {
  const r = await runFuzz(stack, t, new KeyMaterialLedger(), { runsPerEndpoint: 12 });
  process.stdout.write(`fuzz: ${JSON.stringify({ ...r, perEndpoint: undefined, details: r.details.length })}\n`);
  expect(r.details).toEqual([]);
  expect(r.inputs).toBeGreaterThan(250);
  expect(r.fiveXx).toBe(0);
  expect(r.dbChanges).toBe(0);
  expect(r.missingErrorCode).toBe(0);
  expect(r.stackTraces).toBe(0);
  expect(r.timeouts).toBe(0);
  expect(r.prototypePolluted).toBe(false);
  // both listeners: the token endpoint on the internal one too, and every internal route refused by the public one
  expect(r.internalOnPublic).toBe(0);
  expect(r.perEndpoint['internal:POST /v1/auth/token'].inputs).toBeGreaterThan(0);
  for (const path of [
    '/internal/v1/workspaces/{workspaceId}/segments/{segmentId}/dek',
    '/internal/v1/events',
    '/metrics',
  ])
    expect(r.perEndpoint[`public:GET ${path}`]?.inputs).toBeGreaterThan(0);
  // the fuzzer must reach past validation sometimes, or it only ever tested the parser's front door
  expect(Object.values(r.perEndpoint).some((e) => e.accepted > 0)).toBe(true);
});
