import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { waitFor } from './assertions';
import { gcpTenant } from './gcp-tenant';

/**
 * The age triggers of the scheduled rotation check (libs/jobs/src/scheduling/rotation-check.ts):
 *  - KEK max age (config kekMaxAgeSeconds, floor 60 s): an active KEK whose kek_versions.created_at is older is
 *    rotated by itself;
 *  - CMK-rewrap max age (worker setting cmkRewrapMaxAgeSeconds): a live KEK whose wrapped form
 *    (COALESCE(kek_versions.rewrapped_at, created_at)) is older is rewrapped under the CMK by itself, even when the
 *    customer's key has no new version.
 * The CMK-rewrap case runs on AWS (an unrotated key: no current material id, so every rewrap is unconditional) and
 * on GCP (describe always names the primary version, which the KEK is already on: only the age can ask for it).
 * Nobody waits a minute: the rows are made old by backdating the very timestamp columns the check compares.
 */
let h: JobsHarness;
let worker: RunningWorker;
const CMK_REWRAP_MAX_AGE_SECONDS = 3_600;

beforeAll(async () => {
  h = await startJobsHarness({ kekMaxAgeSeconds: 60, clouds: ['gcp'] });
  worker = await startTestWorker(h.config, {
    settings: { rotationCheckIntervalMs: 1_000, cmkRewrapMaxAgeSeconds: CMK_REWRAP_MAX_AGE_SECONDS },
  });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

const segments = (n: number) => Array.from({ length: n }, (_, i) => `seg-${String(i).padStart(4, '0')}`);

type Op = { id: string; kind: string; state: string; params: Record<string, unknown>; requestedBy: string };
async function operations(tenantId: string): Promise<Op[]> {
  return h.ds.query(
    `SELECT id, kind, state, params, requested_by AS "requestedBy" FROM operations WHERE tenant_id = $1 ORDER BY created_at`,
    [tenantId],
  );
}

/** How many rotation checks the worker has completed (its own metric). */
async function rotationChecks(): Promise<number> {
  const text = await (await fetch(`${worker.metricsUrl}/metrics`)).text();
  const m = /keyhold_jobs_total\{kind="rotation-check",outcome="succeeded"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

async function kekRow(workspaceId: string, version: number) {
  const rows = await h.ds.query(
    `SELECT state, wrapped, previous_wrapped AS "previousWrapped", provider_key_version AS "providerKeyVersion",
            rewrapped_at AS "rewrappedAt", created_at AS "createdAt", now() AS "dbNow"
     FROM kek_versions WHERE workspace_id = $1 AND version = $2`,
    [workspaceId, version],
  );
  return rows[0] as {
    state: string;
    wrapped: Buffer;
    previousWrapped: Buffer | null;
    providerKeyVersion: string | null;
    rewrappedAt: Date;
    createdAt: Date;
    dbNow: Date;
  };
}

describe('age limits start rotations by themselves', () => {
  it('an old KEK is rotated and an old wrapped form is rewrapped under the CMK; a fresh workspace is left alone', async () => {
    const old = await h.awsTenant();
    const stale = await h.awsTenant();
    const fresh = await h.awsTenant();
    const gStale = await gcpTenant(h);
    const [oldWs, staleWs, freshWs] = [old.workspaceIds[0], stale.workspaceIds[0], fresh.workspaceIds[0]];
    const oldDeks = await h.fetchDeks(old, oldWs, segments(300));
    const staleDeks = await h.fetchDeks(stale, staleWs, segments(50));
    await h.fetchDeks(fresh, freshWs, segments(50));
    const staleBefore = await kekRow(staleWs, 1);
    const gWs = gStale.workspaceIds[0];
    const gDeks = await h.fetchDeks(gStale, gWs, segments(50));
    const gBefore = await kekRow(gWs, 1);
    expect(gBefore.providerKeyVersion).toBe(gStale.version(1));

    // KEK max age compares kek_versions.created_at; CMK-rewrap max age compares COALESCE(rewrapped_at, created_at).
    await h.ds.query(
      `UPDATE kek_versions SET created_at = now() - interval '2 minutes' WHERE workspace_id = $1 AND version = 1`,
      [oldWs],
    );
    await h.ds.query(
      `UPDATE kek_versions SET rewrapped_at = now() - ($2::int * interval '1 second') - interval '1 hour' WHERE workspace_id = ANY($1) AND version = 1`,
      [[staleWs, gWs], CMK_REWRAP_MAX_AGE_SECONDS],
    );

    // 1. The old KEK: an automatic rotation, to version 2, DEKs unchanged.
    const rotation = await waitFor('an automatic kek-rotation', async () =>
      (await operations(old.tenantId)).find(
        (o) => o.kind === 'kek-rotation' && (o.state === 'succeeded' || o.state === 'failed'),
      ),
    );
    expect(rotation).toMatchObject({
      state: 'succeeded',
      requestedBy: 'system:worker',
      params: expect.objectContaining({ trigger: 'KEK age limit reached' }),
    });
    expect(await h.workspace(old.tenantId, oldWs)).toMatchObject({ keyState: 'active', currentKekVersion: 2 });
    expect((await kekRow(oldWs, 1)).state).toBe('retired');
    expect((await kekRow(oldWs, 2)).state).toBe('active');
    const oldAfter = await h.fetchDeks(old, oldWs, segments(300));
    for (const [s, d] of oldDeks) expect(oldAfter.get(s)).toBe(d);

    // 2. The old wrapped form: an automatic CMK rewrap that really rewraps (same key version, new wrapped form).
    const rewrap = await waitFor('an automatic cmk-rewrap', async () =>
      (await operations(stale.tenantId)).find(
        (o) => o.kind === 'cmk-rewrap' && (o.state === 'succeeded' || o.state === 'failed'),
      ),
    );
    expect(rewrap).toMatchObject({
      state: 'succeeded',
      requestedBy: 'system:worker',
      params: expect.objectContaining({ trigger: 'wrapped KEK age' }),
    });
    expect((rewrap.params.result as { kekVersions: number[] }).kekVersions).toEqual([1]);
    const staleAfter = await kekRow(staleWs, 1);
    expect(staleAfter.state).toBe('active');
    expect(staleAfter.providerKeyVersion).toBe(staleBefore.providerKeyVersion);
    expect(Buffer.compare(staleAfter.wrapped, staleBefore.wrapped)).not.toBe(0);
    expect(staleAfter.previousWrapped).toBeNull();
    expect(staleAfter.dbNow.getTime() - staleAfter.rewrappedAt.getTime()).toBeLessThan(
      CMK_REWRAP_MAX_AGE_SECONDS * 1000,
    );
    expect(await h.workspace(stale.tenantId, staleWs)).toMatchObject({ keyState: 'active', currentKekVersion: 1 });
    const staleDeksAfter = await h.fetchDeks(stale, staleWs, segments(50));
    expect([...staleDeksAfter.entries()]).toEqual([...staleDeks.entries()]);

    // 3. The same on GCP, where the KEK already is on the primary version: the age alone asks for the rewrap.
    const gRewrap = await waitFor('an automatic cmk-rewrap on GCP', async () =>
      (await operations(gStale.tenantId)).find(
        (o) => o.kind === 'cmk-rewrap' && (o.state === 'succeeded' || o.state === 'failed'),
      ),
    );
    expect(gRewrap).toMatchObject({
      state: 'succeeded',
      requestedBy: 'system:worker',
      params: expect.objectContaining({ trigger: 'wrapped KEK age' }),
    });
    expect(gRewrap.params.result).toEqual({ keyVersion: gStale.version(1), kekVersions: [1] });
    const gAfter = await kekRow(gWs, 1);
    expect(gAfter.providerKeyVersion).toBe(gStale.version(1));
    expect(Buffer.compare(gAfter.wrapped, gBefore.wrapped)).not.toBe(0);
    expect(gAfter.previousWrapped).toBeNull();
    expect(gAfter.dbNow.getTime() - gAfter.rewrappedAt.getTime()).toBeLessThan(CMK_REWRAP_MAX_AGE_SECONDS * 1000);
    expect([...(await h.fetchDeks(gStale, gWs, segments(50))).entries()]).toEqual([...gDeks.entries()]);

    // 4. A few more checks run with everything in place: nothing new starts anywhere.
    const ran = await rotationChecks();
    await waitFor('three more rotation checks', async () => (await rotationChecks()) >= ran + 3, 15_000);
    expect(await operations(fresh.tenantId)).toEqual([]);
    expect(await h.workspace(fresh.tenantId, freshWs)).toMatchObject({ keyState: 'active', currentKekVersion: 1 });
    // (Still a meaningful control: the fresh KEK is younger than the 60 s limit.)
    const f = await kekRow(freshWs, 1);
    expect(f.dbNow.getTime() - f.createdAt.getTime()).toBeLessThan(60_000);
    expect((await operations(old.tenantId)).map((o) => o.kind)).toEqual(['kek-rotation']);
    expect((await operations(stale.tenantId)).map((o) => o.kind)).toEqual(['cmk-rewrap']);
    expect((await operations(gStale.tenantId)).map((o) => o.kind)).toEqual(['cmk-rewrap']);
  }, 60_000);
});
