import { startHardeningStack, HardeningStack } from '../../hardening/lib/stack';
import { seedTenant } from '../../hardening/lib/world';
import { runSiem } from '../../hardening/sections/siem';

/**
 * SIEM delivery with nothing lost (hardening/sections/siem.ts) at the suite's quick size: a receiver outage while
 * records keep coming, then the worker SIGKILLed with a batch on the wire and a second worker.
 */
let stack: HardeningStack;

beforeAll(async () => {
  stack = await startHardeningStack({});
}, 120_000);
afterAll(async () => stack?.close());

it('delivers every record, in order, signed, across a receiver outage and a worker SIGKILL', async () => {
  const r = await runSiem(stack, await seedTenant(stack, 'siem'), { events: 3_000, outageMs: 2_000 });
  process.stdout.write(`siem: ${JSON.stringify(r)}\n`);
  expect(r.workerKilledMidDelivery).toBe(true);
  expect(r.eventsExpected).toBeGreaterThanOrEqual(3_000);
  expect(r.eventsLost).toBe(0);
  expect(r.outOfOrder).toBe(0);
  expect(r.badSignatures).toBe(0);
  expect(r.duplicates).toBeLessThanOrEqual(100);
}, 300_000);
