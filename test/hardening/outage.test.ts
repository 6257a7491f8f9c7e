import { runOutage } from '../../hardening/sections/outage';

/**
 * Outages that must neither cut service nor shred (hardening/sections/outage.ts), at a smaller size than
 * `npm run test:hardening`: the vendor's own IAM denying sts:AssumeRole with a single customer, every AWS call
 * throttled for ten probe intervals, and an API replica that misses the shred message.
 */
it('a vendor-side break never shreds; a KMS outage never costs a warm DEK; a missed shred purges within one poll interval', async () => {
  const pollMs = 1_000;
  const r = await runOutage({ vendorSeconds: 10, outageSeconds: 10, pollMs });
  process.stdout.write(`outage: ${JSON.stringify(r)}\n`);
  expect(r.details).toEqual([]);
  expect(r.vendorSideShreds).toBe(0);
  expect(r.vendorSideHeldInSuspect).toBe(true); // the break was felt
  expect(r.vendorCanaryReportedUnhealthy).toBe(true);
  expect(r.vendorSideRecoveredSeconds).not.toBeNull();
  expect(r.warmDekFetchesDuringKmsOutage).toBeGreaterThan(40);
  expect(r.warmDekErrorsDuringKmsOutage).toBe(0);
  expect(r.idleWorkspaceServedAfterOutage).toBe(true);
  expect(r.missedShredPurgeSeconds).not.toBeNull();
  expect(r.missedShredPurgeSeconds!).toBeLessThanOrEqual(r.pollIntervalSeconds);
}, 180_000);
