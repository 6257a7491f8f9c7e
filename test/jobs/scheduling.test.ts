import { DisableKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { waitFor } from './assertions';

/**
 * What the worker starts by itself: access probes per key configuration every probe interval (2 s here),
 * escalation to a revocation check, CMK rewrap when the customer's key gets a new version, KEK rotation when a
 * KEK crossed its wrap-count limit (3,000 here).
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({
    probeIntervalSeconds: 2,
    probeConfirmationWindowSeconds: 2,
    probeConfirmations: 3,
    kekMaxWraps: 3_000,
  });
  worker = await startTestWorker(h.config, { settings: { rotationCheckIntervalMs: 1_000 } });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

const segments = (n: number) => Array.from({ length: n }, (_, i) => `seg-${String(i).padStart(6, '0')}`);

async function operations(tenantId: string) {
  return h.ds.query<
    Array<{ id: string; kind: string; state: string; params: Record<string, unknown>; requestedBy: string }>
  >(
    `SELECT id, kind, state, params, requested_by AS "requestedBy" FROM operations WHERE tenant_id = $1 ORDER BY created_at`,
    [tenantId],
  );
}

describe('scheduled work', () => {
  it('healthy keys are probed on schedule and start no operation', async () => {
    const t = await h.awsTenant();
    const rec = await waitFor('a successful scheduled probe', async () => {
      const r = await h.ds.query(
        `SELECT last_verdict AS v, last_ok_at AS ok FROM key_configuration_access WHERE key_configuration_id = $1`,
        [t.keyConfigurationId],
      );
      return r[0]?.ok ? r[0] : null;
    });
    expect(rec.v).toBe('restore');
    expect(await operations(t.tenantId)).toEqual([]);
  });

  it('a key disabled by the customer is found by the scheduled probe and shredded, with no request from anyone', async () => {
    const t = await h.awsTenant({ workspaces: 2 });
    await h.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
    await waitFor('both workspaces shredded', async () => {
      const states = await Promise.all(t.workspaceIds.map((w) => h.workspace(t.tenantId, w)));
      return states.every((s) => s.keyState === 'shredded');
    });
    // The escalated operation ends too (a scheduled probe may have confirmed the shred first: same policy).
    const ops = await waitFor('the revocation check to finish', async () => {
      const all = await operations(t.tenantId);
      return all.every((o) => o.state !== 'running' && o.state !== 'queued') ? all : null;
    });
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ kind: 'revocation-check', state: 'succeeded', requestedBy: 'system:worker' });
    expect(String(ops[0].params.trigger)).toMatch(/scheduled probe/);
    expect(ops[0].params.result).toMatchObject({ outcome: 'shredded' });
  });

  it('a new CMK version (customer rotated the key) starts a CMK rewrap by itself', async () => {
    const t = await h.awsTenant();
    await h.kms.send(new RotateKeyOnDemandCommand({ KeyId: t.keyArn }));
    const op = await waitFor('an automatic cmk-rewrap', async () =>
      (await operations(t.tenantId)).find((o) => o.kind === 'cmk-rewrap' && o.state === 'succeeded'),
    );
    expect(op.params.trigger).toBe('new CMK version');
    const rows = await h.ds.query(`SELECT provider_key_version AS v FROM kek_versions WHERE workspace_id = $1`, [
      t.workspaceIds[0],
    ]);
    expect(rows[0].v).not.toBeNull();
    // Once rewrapped, the check finds nothing more to do.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await operations(t.tenantId)).filter((o) => o.kind === 'cmk-rewrap')).toHaveLength(1);
  });

  it('a KEK past its wrap-count limit is rotated by itself', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const before = await h.fetchDeks(t, ws, segments(3_100));
    const op = await waitFor('an automatic kek-rotation', async () =>
      (await operations(t.tenantId)).find((o) => o.kind === 'kek-rotation' && o.state === 'succeeded'),
    );
    expect(op.params.trigger).toBe('KEK wrap count limit reached');
    expect((await h.workspace(t.tenantId, ws)).currentKekVersion).toBe(2);
    const after = await h.fetchDeks(t, ws, segments(3_100));
    for (const [s, d] of before) expect(after.get(s)).toBe(d);
  });
});
