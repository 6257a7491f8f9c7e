import { DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { waitFor } from './assertions';

/**
 * The KEK wrap limit holds in every state that serves DEKs: a workspace stuck in `access_suspect` (customer key
 * answering revocation-class errors to probes, not yet confirmed) still has its KEK rotated once the wrap limit is
 * reached. If the customer key really is revoked, the rotation fails like any rotation: nothing is shredded,
 * no DEK or KEK row is lost, and the workspace stays `access_suspect` (only the probes decide).
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  // Probes effectively off (they would restore `access_suspect` to `active` on their own); a fast rotation check.
  h = await startJobsHarness({ probeIntervalSeconds: 86_400, kekMaxWraps: 50 });
  worker = await startTestWorker(h.config, { settings: { rotationCheckIntervalMs: 500 } });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

const segments = (n: number) => Array.from({ length: n }, (_, i) => `seg-${String(i).padStart(4, '0')}`);

async function suspect(tenantId: string, workspaceId: string) {
  await h.ds.query(
    `UPDATE workspaces SET key_state = 'access_suspect', state_version = state_version + 1 WHERE tenant_id = $1 AND id = $2`,
    [tenantId, workspaceId],
  );
}

async function rotations(tenantId: string) {
  return await h.ds.query<Array<{ id: string; state: string; error: string | null }>>(
    `SELECT id, state, error FROM operations WHERE tenant_id = $1 AND kind = 'kek-rotation' ORDER BY created_at`,
    [tenantId],
  );
}

describe('wrap-limit rotation from access_suspect', () => {
  it('a KEK past its wrap limit is rotated even while the workspace is access_suspect, which it stays', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    await suspect(t.tenantId, ws);
    const before = await h.fetchDeks(t, ws, segments(60));
    const op = await waitFor('a kek-rotation to succeed', async () =>
      (await rotations(t.tenantId)).find((o) => o.state === 'succeeded'),
    );
    expect(op).toBeDefined();
    const w = await h.workspace(t.tenantId, ws);
    expect(w.currentKekVersion).toBe(2);
    expect(w.keyState).toBe('access_suspect');
    const after = await h.fetchDeks(t, ws, segments(60));
    for (const [s, d] of before) expect(after.get(s)).toBe(d);
  });

  it('with the customer key revoked the rotation fails and shreds or loses nothing', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    await suspect(t.tenantId, ws);
    const before = await h.fetchDeks(t, ws, segments(60));
    const rowsBefore = await h.ds.query(
      `SELECT segment_id, kek_version, wrapped FROM deks WHERE workspace_id = $1 ORDER BY segment_id`,
      [ws],
    );
    const keksBefore = await h.ds.query(
      `SELECT version, state, wrapped FROM kek_versions WHERE workspace_id = $1 ORDER BY version`,
      [ws],
    );
    await h.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
    const failed = await waitFor(
      'a kek-rotation to fail',
      async () => (await rotations(t.tenantId)).find((o) => o.state === 'failed'),
      30_000,
    );
    expect(failed.error).toBeTruthy();
    const w = await h.workspace(t.tenantId, ws);
    expect(w.keyState).toBe('access_suspect');
    expect(w.currentKekVersion).toBe(1);
    expect(
      await h.ds.query(
        `SELECT segment_id, kek_version, wrapped FROM deks WHERE workspace_id = $1 ORDER BY segment_id`,
        [ws],
      ),
    ).toEqual(rowsBefore);
    expect(
      await h.ds.query(`SELECT version, state, wrapped FROM kek_versions WHERE workspace_id = $1 ORDER BY version`, [
        ws,
      ]),
    ).toEqual(keksBefore);
    // the customer restores the key: every DEK is still there
    await h.kms.send(new EnableKeyCommand({ KeyId: t.keyArn }));
    const after = await h.fetchDeks(t, ws, segments(60));
    for (const [s, d] of before) expect(after.get(s)).toBe(d);
  });
});
