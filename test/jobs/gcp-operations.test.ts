import { OperationKind } from '@app/jobs';
import type { GcpKeyConfig, WrapContext } from '@app/provider-port';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { checkUntilDone, expectShredded, reinstate, expectDegradedNeverShredded, expectRecovered } from './assertions';
import { whileReading } from './under-load';
import { GcpTenant, gcpTenant } from './gcp-tenant';

/**
 * The worker's operations against Google Cloud KMS (the GCP emulator over gRPC+TLS, spoken to by Keyhold's real
 * binding as the tenant's impersonated vendor service account; the customer side uses @google-cloud/kms as the
 * key's owner): CMK rewrap onto a new primary version, KEK rotation under load, every way a customer can revoke,
 * reinstate, and transient faults that must never shred.
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({
    clouds: ['gcp'],
    probeConfirmationWindowSeconds: 2,
    probeConfirmations: 3,
    // A hung call costs this much per attempt: keep the "hang" probes short.
    providerEnv: { KEYHOLD_GCP_TIMEOUT_MS: '1500' },
  });
  worker = await startTestWorker(h.config, {
    settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2, dekBatchSize: 200 },
  });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});
afterEach(() => h.gcp!.faults.clear());

const segments = (n: number, prefix = 'seg') =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(6, '0')}`);

interface KekRowView {
  version: number;
  state: string;
  keyConfigurationId: string;
  providerKeyVersion: string | null;
  previousProviderKeyVersion: string | null;
  wrapped: Buffer;
  previousWrapped: Buffer | null;
  rewrappedAt: Date | null;
}

async function kekRows(tenantId: string, workspaceId: string): Promise<KekRowView[]> {
  return h.ds.query(
    `SELECT version, state, key_configuration_id AS "keyConfigurationId", provider_key_version AS "providerKeyVersion",
            previous_provider_key_version AS "previousProviderKeyVersion", wrapped, previous_wrapped AS "previousWrapped",
            rewrapped_at AS "rewrappedAt"
     FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 ORDER BY version`,
    [tenantId, workspaceId],
  );
}

async function setVersionState(t: GcpTenant, n: number, state: 'ENABLED' | 'DISABLED') {
  await t.owner.updateCryptoKeyVersion({
    cryptoKeyVersion: { name: t.version(n), state },
    updateMask: { paths: ['state'] },
  });
}

describe('operations on GCP, executed by the worker', () => {
  it('CMK rewrap: after the customer makes a new primary version, the KEK moves onto it; DEKs unchanged; the old version can go', async () => {
    const t = await gcpTenant(h);
    const ws = t.workspaceIds[0];
    const before = await h.fetchDeks(t, ws, segments(20));
    const initial = await kekRows(t.tenantId, ws);
    expect(initial).toHaveLength(1);
    expect(initial[0].providerKeyVersion).toBe(t.version(1));
    expect(initial[0].previousWrapped).toBeNull();

    // The customer rotates: a new version, made primary.
    const [created] = await t.owner.createCryptoKeyVersion({ parent: t.keyName, cryptoKeyVersion: {} });
    expect(created.name).toBe(t.version(2));
    await t.owner.updateCryptoKeyPrimaryVersion({ name: t.keyName, cryptoKeyVersionId: '2' });

    const op = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, ws, OperationKind.CmkRewrap));
    expect(op).toMatchObject({ state: 'succeeded', error: null, step: 'done' });
    expect(op.params.result).toEqual({ keyVersion: t.version(2), kekVersions: [1] });
    const rows = await kekRows(t.tenantId, ws);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      version: 1,
      state: 'active',
      providerKeyVersion: t.version(2),
      previousProviderKeyVersion: null,
    });
    // The old wrapped form is deleted as the operation commits (no previous form outlives it); the new one differs.
    expect(rows[0].previousWrapped).toBeNull();
    expect(Buffer.compare(rows[0].wrapped, initial[0].wrapped)).not.toBe(0);
    expect(await h.workspace(t.tenantId, ws)).toMatchObject({
      keyState: 'active',
      currentKekVersion: 1,
      degraded: false,
    });

    const after = await h.fetchDeks(t, ws, segments(20));
    expect([...after.entries()]).toEqual([...before.entries()]);

    // The customer disables the old version: the old form (as it was before the rewrap) is useless, the current one still works, so a
    // cold replica keeps serving the same DEKs (the KEK really is wrapped under version 2).
    await setVersionState(t, 1, 'DISABLED');
    const gcp = h.deps.registry.get('gcp');
    const cfg: GcpKeyConfig = { provider: 'gcp', keyName: t.keyName, serviceAccount: t.serviceAccount };
    const ctx: WrapContext = {
      tenantId: t.tenantId,
      workspaceId: ws,
      keyConfigurationId: t.keyConfigurationId,
      kekVersion: 1,
      purpose: 'workspace-kek',
    };
    await expect(
      gcp.unwrap(cfg, { ciphertext: initial[0].wrapped, keyVersion: t.version(1) }, ctx),
    ).rejects.toMatchObject({ errorClass: 'key_disabled' });
    const cold = await h.fetchDeks(t, ws, segments(20));
    expect([...cold.entries()]).toEqual([...before.entries()]);

    // Asking again changes nothing: no KEK row is off the primary version.
    const again = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, ws, OperationKind.CmkRewrap));
    expect(again.state).toBe('succeeded');
    expect(again.params.result).toEqual({ keyVersion: t.version(2), kekVersions: [] });
    const unchanged = await kekRows(t.tenantId, ws);
    expect(Buffer.compare(unchanged[0].wrapped, rows[0].wrapped)).toBe(0);
    expect(unchanged[0].rewrappedAt).toEqual(rows[0].rewrappedAt);
    expect(unchanged[0].providerKeyVersion).toBe(t.version(2));
  });

  it('KEK rotation while cold replicas keep fetching DEKs: progress is visible mid-way, every DEK unchanged', async () => {
    const t = await gcpTenant(h);
    const ws = t.workspaceIds[0];
    const all = segments(2_000);
    const before = await h.fetchDeks(t, ws, all);
    const opId = await h.request(t.tenantId, ws, OperationKind.KekRotation);

    const { op, failures, rounds, sawMidwayProgress } = await whileReading(h, t, ws, opId, before, {
      readers: 3,
      timeoutMs: 45_000,
    });
    expect(failures).toEqual([]);
    expect(rounds).toBeGreaterThan(3);
    expect(op.state).toBe('succeeded');
    expect(op.progressDone).toBe(op.progressTotal);
    expect(op.progressTotal).toBeGreaterThanOrEqual(2_000);
    expect(sawMidwayProgress).toBe(true);

    const rows = await kekRows(t.tenantId, ws);
    expect(rows.map((r) => [r.version, r.state, r.providerKeyVersion])).toEqual([
      // A retired version keeps no wrapped form (and so names no key version).
      [1, 'retired', null],
      [2, 'active', t.version(1)],
    ]);
    expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', currentKekVersion: 2 });
    const after = await h.fetchDeks(t, ws, all);
    for (const [seg, dek] of before) expect(after.get(seg)).toBe(dek);
    const stray = await h.ds.query(`SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1 AND kek_version <> 2`, [
      ws,
    ]);
    expect(stray[0].n).toBe(0);
  }, 60_000);
});

describe('revocation on GCP reaches shredded only after the window, whichever way the customer revokes', () => {
  it('by disabling the primary key version; reinstate fails until the customer enables it again', async () => {
    const t = await gcpTenant(h, { workspaces: 2 });
    const [ws1] = t.workspaceIds;
    const dek = await h.fetchDeks(t, ws1, ['s1']);
    await setVersionState(t, 1, 'DISABLED');
    await expectShredded(h, t, { reason: /key_disabled/ });
    await expect(h.fetchDeks(t, ws1, ['s1'])).rejects.toMatchObject({ code: 'WORKSPACE_SHREDDED' });

    const denied = await reinstate(h, t, ws1);
    expect(denied.state).toBe('failed');
    expect(denied.error).toMatch(/still cannot unwrap/);
    expect((await h.workspace(t.tenantId, ws1)).keyState).toBe('shredded');
    await setVersionState(t, 1, 'ENABLED');
    const ok = await reinstate(h, t, ws1);
    expect(ok.state).toBe('succeeded');
    expect(await h.workspace(t.tenantId, ws1)).toMatchObject({ keyState: 'active', degraded: false });
    expect(await h.fetchDeks(t, ws1, ['s1'])).toEqual(dek);
  });

  it('by removing the service account from the key’s IAM policy; reinstate after the customer grants it again', async () => {
    const t = await gcpTenant(h);
    const dek = await h.fetchDeks(t, t.workspaceIds[0], ['a', 'b']);
    await t.revoke();
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);

    const denied = await reinstate(h, t);
    expect(denied.state).toBe('failed');
    expect(denied.error).toMatch(/still cannot unwrap/);
    await t.grant();
    const ok = await reinstate(h, t);
    expect(ok.state).toBe('succeeded');
    expect(await h.fetchDeks(t, t.workspaceIds[0], ['a', 'b'])).toEqual(dek);
  });

  it('by scheduling destruction of the version; reinstate after the customer restores and enables it', async () => {
    const t = await gcpTenant(h);
    const dek = await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    const [scheduled] = await t.owner.destroyCryptoKeyVersion({ name: t.version(1) });
    expect(scheduled.state).toBe('DESTROY_SCHEDULED');
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/key_pending_deletion/);

    expect((await reinstate(h, t)).state).toBe('failed');
    await t.owner.restoreCryptoKeyVersion({ name: t.version(1) });
    // Restored versions come back DISABLED: still no access.
    expect((await reinstate(h, t)).state).toBe('failed');
    await setVersionState(t, 1, 'ENABLED');
    const ok = await reinstate(h, t);
    expect(ok.state).toBe('succeeded');
    expect(await h.fetchDeks(t, t.workspaceIds[0], ['a'])).toEqual(dek);
  });

  it('by destroying the version for good: shredded, and no reinstate can bring it back', async () => {
    const t = await gcpTenant(h);
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await t.owner.destroyCryptoKeyVersion({ name: t.version(1) });
    const destroyed = await h.gcp!.admin('POST', '/gcp/versions/destroy-now', { name: t.version(1) });
    expect(destroyed).toMatchObject({ status: 200, body: { state: 'DESTROYED' } });
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/key_destroyed/);
    const denied = await reinstate(h, t);
    expect(denied.state).toBe('failed');
    expect(denied.error).toMatch(/still cannot unwrap/);
    expect((await h.workspace(t.tenantId, t.workspaceIds[0])).keyState).toBe('shredded');
  });

  it('a disabled vendor service account is Keyhold’s own misconfiguration (auth_misconfigured): degraded, never shredded', async () => {
    // The service account lives in Keyhold's project, not the customer's: the customer cannot disable it, so a
    // refused impersonation says nothing about the customer's intent (libs/provider-gcp classify.ts).
    const t = await gcpTenant(h, { workspaces: 2 });
    const disabled = await h.gcp!.admin('POST', '/gcp/service-accounts/disable', { email: t.serviceAccount });
    expect(disabled).toMatchObject({ status: 200, body: { disabled: true } });
    try {
      const op = await checkUntilDone(h, t);
      expect(op.state).toBe('succeeded');
      expect(op.params.result).toMatchObject({ outcome: 'inconclusive' });
      expect(String(op.params.lastReason)).toMatch(/auth_misconfigured/);
      expect(Number(op.params.probes)).toBeGreaterThanOrEqual(4);
      for (const ws of t.workspaceIds)
        expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: true });
      const acc = await h.ds.query(
        `SELECT consecutive_definitive::int AS n, last_error_class AS cls FROM key_configuration_access WHERE key_configuration_id = $1`,
        [t.keyConfigurationId],
      );
      expect(acc[0]).toEqual({ n: 0, cls: 'auth_misconfigured' });
    } finally {
      await h.gcp!.admin('POST', '/gcp/service-accounts/enable', { email: t.serviceAccount });
    }
    const op = await checkUntilDone(h, t);
    expect(op.params.result).toMatchObject({ outcome: 'active' });
    for (const ws of t.workspaceIds)
      expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: false });
  });
});

describe('transient failures on GCP never shred', () => {
  it('RESOURCE_EXHAUSTED, UNAVAILABLE, connection resets and hung calls: inconclusive, degraded, zero shreds; recovered after', async () => {
    const kinds = ['throttle', 'error', 'reset', 'hang'] as const;
    const tenants = await Promise.all(kinds.map(() => gcpTenant(h, { workspaces: 2 })));
    // The GCP emulator reports the request's resource name (the CryptoKey name for Get/Encrypt/Decrypt) as keyId.
    kinds.forEach((kind, i) =>
      h.gcp!.faults.add({
        cloud: 'gcp',
        keyId: tenants[i].keyName,
        kind,
        ...(kind === 'hang' ? { operation: 'Decrypt' } : {}),
      }),
    );
    const flaky = await gcpTenant(h);
    h.gcp!.faults.add({ cloud: 'gcp', keyId: flaky.keyName, kind: 'error', rate: 0.5 });

    const all = [...tenants, flaky];
    const ops = await Promise.all(all.map((t) => checkUntilDone(h, t, t.workspaceIds[0], 45_000)));
    let probes = 0;
    for (const [i, op] of ops.entries()) {
      probes += Number(op.params.probes);
      expect(op.state).toBe('succeeded');
      expect(['inconclusive', 'active']).toContain((op.params.result as { outcome: string }).outcome);
      if (i < kinds.length) {
        expect(op.params.result).toMatchObject({ outcome: 'inconclusive' });
        expect(String(op.params.lastReason)).toMatch(kinds[i] === 'throttle' ? /throttled/ : /unavailable/);
      }
    }
    expect(probes).toBeGreaterThanOrEqual(kinds.length * 4);
    // Every fault kind really was hit (the flaky rule may, by chance, have let a whole probe through).
    const rules = h.gcp!.faults.list();
    expect(rules.slice(0, kinds.length).map((r) => [r.kind, r.hits > 0])).toEqual(kinds.map((k) => [k, true]));
    await expectDegradedNeverShredded(h, all, tenants);

    h.gcp!.faults.clear();
    await expectRecovered(h, tenants);
  }, 90_000);
});
