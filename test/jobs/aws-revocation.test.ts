import {
  CancelKeyDeletionCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import { OperationKind } from '@app/jobs';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { AwsTenant, JobsHarness, putKeyPolicy, startJobsHarness } from './harness';
import { checkUntilDone, expectShredded, expectDegradedNeverShredded, expectRecovered } from './assertions';

let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({ probeConfirmationWindowSeconds: 2, probeConfirmations: 3 });
  worker = await startTestWorker(h.config, { settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2 } });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});
afterEach(() => h.aws.faults.clear());

const keyIdOf = (t: AwsTenant) => t.keyArn.split('/').pop() as string;

describe('revocation reaches shredded within the window, whichever way the customer revokes', () => {
  it('by removing Keyhold from the key policy', async () => {
    const t = await h.awsTenant();
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putKeyPolicy(h, t, t.keyArn, false);
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });

  it('by removing the IAM permission from the role', async () => {
    const t = await h.awsTenant({ grant: 'iam' });
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await h.iam.send(new DeleteRolePolicyCommand({ RoleName: t.roleName, PolicyName: `keyhold-kms-${keyIdOf(t)}` }));
    await expectShredded(h, t);
  });

  it('by scheduling the key for deletion; reinstate after the customer cancels it', async () => {
    const t = await h.awsTenant();
    const dek = await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await h.kms.send(new ScheduleKeyDeletionCommand({ KeyId: t.keyArn, PendingWindowInDays: 7 }));
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/key_pending_deletion/);
    await h.kms.send(new CancelKeyDeletionCommand({ KeyId: t.keyArn }));
    await h.kms.send(new EnableKeyCommand({ KeyId: t.keyArn }));
    const reinstated = await h.waitForOperation(
      t.tenantId,
      await h.request(t.tenantId, t.workspaceIds[0], OperationKind.Reinstate),
    );
    expect(reinstated.state).toBe('succeeded');
    expect(await h.fetchDeks(t, t.workspaceIds[0], ['a'])).toEqual(dek);
  });

  it('a rotation refused by the key service fails cleanly and asks for a revocation check, which shreds', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    await h.fetchDeks(t, ws, ['a']);
    await h.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
    const rotation = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, ws, OperationKind.KekRotation));
    expect(rotation.state).toBe('failed');
    expect(rotation.error).toMatch(/key_disabled/);
    const check = await h.ds.query(
      `SELECT id FROM operations WHERE tenant_id = $1 AND kind = 'revocation-check' AND requested_by = 'system:worker'`,
      [t.tenantId],
    );
    expect(check).toHaveLength(1);
    const op = await h.waitForOperation(t.tenantId, check[0].id, 15_000);
    expect(op.params.result).toMatchObject({ outcome: 'shredded' });
    expect(String(op.params.trigger)).toMatch(/kek-rotation failed with key_disabled/);
    // Nothing half-done was left behind by the failed rotation.
    const keks = await h.ds.query(`SELECT version FROM kek_versions WHERE workspace_id = $1`, [ws]);
    expect(keks).toEqual([{ version: 1 }]);
  });

  it('a denial that clears within the window (IAM eventual consistency) restores the workspace, never shreds', async () => {
    const t = await h.awsTenant();
    await putKeyPolicy(h, t, t.keyArn, false);
    const opId = await h.request(t.tenantId, t.workspaceIds[0], OperationKind.RevocationCheck);
    await h.waitForOperation(t.tenantId, opId, 10_000, (o) => o.step === 'probe:suspect');
    expect((await h.workspace(t.tenantId, t.workspaceIds[0])).keyState).toBe('access_suspect');
    await putKeyPolicy(h, t, t.keyArn, true);
    const op = await h.waitForOperation(t.tenantId, opId, 10_000);
    expect(op.params.result).toMatchObject({ outcome: 'active' });
    expect(await h.workspace(t.tenantId, t.workspaceIds[0])).toMatchObject({ keyState: 'active', degraded: false });
  });
});

describe('transient and our-fault failures never shred', () => {
  it('throttling, 5xx, timeouts and connection resets over many probes: zero shreds, workspaces degraded then recovered', async () => {
    const kinds = ['throttle', 'error', 'reset', 'hang'] as const;
    const tenants = await Promise.all(kinds.map(() => h.awsTenant({ workspaces: 2 })));
    kinds.forEach((kind, i) =>
      h.aws.faults.add({
        cloud: 'aws',
        keyId: keyIdOf(tenants[i]),
        kind,
        ...(kind === 'hang' ? { operation: 'Decrypt' } : {}),
      }),
    );
    // Flaky, not down: half the calls fail with 5xx.
    const flaky = await h.awsTenant();
    h.aws.faults.add({ cloud: 'aws', keyId: keyIdOf(flaky), kind: 'error', rate: 0.5 });

    const ops = await Promise.all([...tenants, flaky].map((t) => checkUntilDone(h, t, t.workspaceIds[0], 45_000)));
    let probes = 0;
    for (const [i, op] of ops.entries()) {
      probes += Number(op.params.probes);
      expect(op.state).toBe('succeeded');
      expect(['inconclusive', 'active']).toContain((op.params.result as { outcome: string }).outcome);
      if (i < kinds.length) expect(op.params.result).toMatchObject({ outcome: 'inconclusive' });
    }
    expect(probes).toBeGreaterThanOrEqual(kinds.length * 4);
    await expectDegradedNeverShredded(h, [...tenants, flaky], tenants);

    // Faults gone: the next check clears the degraded flag.
    h.aws.faults.clear();
    await expectRecovered(h, tenants);
  }, 90_000);
});
