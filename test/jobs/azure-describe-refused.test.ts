import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { expectShredded } from './assertions';
import { azureTenant } from './azure-tenant';

/**
 * Azure is where the describe-refusal rule meets the confused-deputy guard: Keyhold's unwrap itself reads the key
 * (getKey) to check the ownership tag before it calls unwrapKey, so a vault that grants Keyhold wrapKey/unwrapKey but
 * no longer `get` refuses the DEK path's cold unwrap too. The probe's proof of access is that same unwrap, so it
 * stays a revocation candidate (docs/ARCHITECTURE.md, "What a probe proves"): shredded through the confirmation rules,
 * the forms under the key kept for a reinstate once `get` is granted again.
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({
    clouds: ['azure'],
    probeConfirmationWindowSeconds: 2,
    probeConfirmations: 3,
    // A positive ownership check is trusted for 300 ms here (60 s by default), so the refused get shows quickly.
    providerEnv: { KEYHOLD_AZURE_OWNERSHIP_TTL_MS: '300' },
  });
  worker = await startTestWorker(h.config, { settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2 } });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

describe('Azure: get refused while unwrapKey is granted', () => {
  it('the DEK path cannot unwrap either (the ownership read is refused): a revocation candidate, shredded through the confirmation rules', async () => {
    const t = await azureTenant(h, { workspaces: 2 });
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await h.azure!.revokeVendor(t.keyName);
    await h.azure!.grantVendor(t.keyName, ['wrapKey', 'unwrapKey']);
    await new Promise((r) => setTimeout(r, 400));
    await expect(h.fetchDeks(t, t.workspaceIds[0], ['a'], h.dekService().service)).rejects.toMatchObject({
      code: 'KMS_UNAVAILABLE',
      message: expect.stringMatching(/refused to unwrap the workspace key \(access_denied\)/),
    });
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });
});
