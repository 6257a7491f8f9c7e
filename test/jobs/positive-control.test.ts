import { DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { OperationKind } from '@app/jobs';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';

/**
 * The positive control: when every key configuration on a provider "revokes" at the same time and none still
 * works, the likelier story is that Keyhold's own access broke. Nothing is shredded until some configuration on
 * that provider is seen working again. (This file has its own database, so these are the only configurations.)
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({ probeConfirmationWindowSeconds: 1, probeConfirmations: 2 });
  worker = await startTestWorker(h.config);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

it('holds a mass "revocation" in access_suspect, and shreds once another key proves the provider healthy', async () => {
  const tenants = await Promise.all(Array.from({ length: 4 }, () => h.awsTenant()));
  for (const t of tenants) await h.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
  const ops = await Promise.all(
    tenants.map((t) => h.request(t.tenantId, t.workspaceIds[0], OperationKind.RevocationCheck)),
  );

  // Well past the window and the confirmations: everything suspect, nothing shredded, the checks keep going.
  await new Promise((r) => setTimeout(r, 4_000));
  for (const [i, t] of tenants.entries()) {
    expect((await h.workspace(t.tenantId, t.workspaceIds[0])).keyState).toBe('access_suspect');
    const op = await h.waitForOperation(t.tenantId, ops[i], 1_000, () => true);
    expect(op.state).toBe('running');
    expect(String(op.params.lastReason)).toMatch(/positive control/);
  }

  // One customer's key works again: the provider and our credentials are demonstrably fine.
  const [healthy, ...revoked] = tenants;
  await h.kms.send(new EnableKeyCommand({ KeyId: healthy.keyArn }));
  const first = await h.waitForOperation(healthy.tenantId, ops[0], 15_000);
  expect(first.params.result).toMatchObject({ outcome: 'active' });
  for (const [i, t] of revoked.entries()) {
    const op = await h.waitForOperation(t.tenantId, ops[i + 1], 15_000);
    expect(op.params.result).toMatchObject({ outcome: 'shredded' });
    expect((await h.workspace(t.tenantId, t.workspaceIds[0])).keyState).toBe('shredded');
  }
}, 60_000);
