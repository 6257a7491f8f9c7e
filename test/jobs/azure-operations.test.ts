import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { OperationKind } from '@app/jobs';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import type { AzureEmulatorHarness } from '../support/azure-emulator';
import { AzureTenant, azureTenant, tagAzureKey } from './azure-tenant';
import { JobsHarness, startJobsHarness } from './harness';
import { checkUntilDone, expectShredded, reinstate, expectDegradedNeverShredded, expectRecovered } from './assertions';
import { whileReading } from './under-load';

/**
 * The worker's operations against Azure Key Vault (the Azure emulator through the real @azure/keyvault-keys and
 * @azure/identity, real Postgres and Redis): CMK rewrap onto a new key version, KEK rotation under load,
 * revocation (disable / grant removed / key deleted) to shredded, reinstate, and transient faults that never shred.
 */
let h: JobsHarness;
let az: AzureEmulatorHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({
    clouds: ['azure'],
    probeConfirmationWindowSeconds: 2,
    probeConfirmations: 3,
    // A hung vault call gives up after 1 s (the transient-fault test waits out several of them).
    // A positive ownership-tag check is trusted for 300 ms here (60 s by default), so a removed tag shows quickly.
    providerEnv: { KEYHOLD_AZURE_REQUEST_TIMEOUT_MS: '1000', KEYHOLD_AZURE_OWNERSHIP_TTL_MS: '300' },
  });
  az = h.azure!;
  // Small rotation batches so that a 2,000-DEK rotation has many progress steps to observe.
  worker = await startTestWorker(h.config, {
    settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2, dekBatchSize: 100 },
  });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});
afterEach(() => az.faults.clear());

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
  wrapCount: number;
}

async function kekRows(tenantId: string, workspaceId: string): Promise<KekRowView[]> {
  return h.ds.query(
    `SELECT version, state, key_configuration_id AS "keyConfigurationId", provider_key_version AS "providerKeyVersion",
            previous_provider_key_version AS "previousProviderKeyVersion", wrapped, previous_wrapped AS "previousWrapped",
            wrap_count::float8 AS "wrapCount"
     FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 ORDER BY version`,
    [tenantId, workspaceId],
  );
}

/** The key's current version as the customer sees it in their vault (customer-side SDK client). */
async function currentVersion(t: AzureTenant): Promise<string> {
  const key = await az.customerKeys().getKey(t.keyName);
  return key.properties.version!;
}

async function setEnabled(t: AzureTenant, enabled: boolean): Promise<void> {
  const r = await az.admin('POST', `/azure/keys/${t.keyName}/enabled`, { enabled });
  if (r.status !== 200) throw new Error(`enable/disable failed: ${JSON.stringify(r.body)}`);
}

describe('CMK rewrap on Azure', () => {
  it('after the customer rotates the key, every KEK is rewrapped under the new key version (even right after an earlier rewrap); DEKs unchanged', async () => {
    const t = await azureTenant(h);
    const ws = t.workspaceIds[0];
    const v1 = await currentVersion(t);
    const before = await h.fetchDeks(t, ws, segments(20));
    const [initial] = await kekRows(t.tenantId, ws);
    expect(initial).toMatchObject({ providerKeyVersion: v1, previousWrapped: null });
    // A rewrap asked for before the rotation finds nothing to do (and leaves the worker having just described v1).
    const early = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, ws, OperationKind.CmkRewrap));
    expect(early.params.result).toMatchObject({ keyVersion: v1, kekVersions: [] });

    // The customer rotates, and asks right away: the rewrap must see the rotation, not a version described before it.
    const rotated = await az.admin('POST', `/azure/keys/${t.keyName}/rotate`);
    expect(rotated.status).toBe(201);
    const v2 = await currentVersion(t);
    expect(v2).not.toBe(v1);
    expect(String(rotated.body.key.kid)).toMatch(new RegExp(`/${v2}$`));

    const op = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, ws, OperationKind.CmkRewrap));
    expect(op).toMatchObject({ state: 'succeeded', error: null, step: 'done' });
    expect(op.params.result).toMatchObject({ keyVersion: v2, kekVersions: [1] });

    const [row] = await kekRows(t.tenantId, ws);
    // The form under v1 is gone as the operation commits (no previous_* form outlives it).
    expect(row).toMatchObject({
      version: 1,
      state: 'active',
      keyConfigurationId: t.keyConfigurationId,
      providerKeyVersion: v2,
      previousProviderKeyVersion: null,
    });
    expect(row.previousWrapped).toBeNull();
    expect(row.wrapped.equals(initial.wrapped)).toBe(false);
    expect(await h.workspace(t.tenantId, ws)).toMatchObject({
      keyState: 'active',
      degraded: false,
      currentKekVersion: 1,
    });

    // The customer disables ONLY the old version (customer-side SDK: updateKeyProperties on that version). The
    // vendor can no longer unwrap anything under it...
    await az.customerKeys().updateKeyProperties(t.keyName, v1, { enabled: false });
    const d = AZURE_EMULATOR_DEFAULTS;
    await expect(
      az
        .cryptoAs(`${t.keyId}/${v1}`, d.vendorClientId, d.vendorClientSecret)
        .unwrapKey('RSA-OAEP-256', initial.wrapped),
    ).rejects.toMatchObject({ statusCode: 403 });
    // ...yet a cold replica (fresh KEK cache) unwraps the rewrapped KEK under v2 and serves the very same DEKs.
    const after = await h.fetchDeks(t, ws, segments(20));
    expect([...after.entries()]).toEqual([...before.entries()]);

    // Re-running the same request is harmless: nothing is left to rewrap, and the row is not touched.
    const again = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, ws, OperationKind.CmkRewrap));
    expect(again.state).toBe('succeeded');
    expect(again.params.result).toMatchObject({ keyVersion: v2, kekVersions: [] });
    const [still] = await kekRows(t.tenantId, ws);
    expect(still.wrapped).toEqual(row.wrapped);
    expect(still.providerKeyVersion).toBe(v2);
  });

  it('a rewrap requested when the key has not changed succeeds and changes nothing', async () => {
    const t = await azureTenant(h, { workspaces: 2 });
    const [ws1, ws2] = t.workspaceIds;
    const before = await h.fetchDeks(t, ws1, segments(5));
    const [initial] = await kekRows(t.tenantId, ws1);
    const wrapsBefore = az.counters.total({ cloud: 'azure', operation: 'wrapKey', outcome: 'ok' });

    const op = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, ws1, OperationKind.CmkRewrap));
    expect(op).toMatchObject({ state: 'succeeded', error: null });
    expect(op.params.result).toMatchObject({ keyVersion: await currentVersion(t), kekVersions: [] });
    // No wrap was even attempted, and the row is exactly as it was.
    expect(az.counters.total({ cloud: 'azure', operation: 'wrapKey', outcome: 'ok' })).toBe(wrapsBefore);
    const [row] = await kekRows(t.tenantId, ws1);
    expect(row.wrapped).toEqual(initial.wrapped);
    expect(row.previousWrapped).toBeNull();
    expect(row.providerKeyVersion).toBe(initial.providerKeyVersion);
    for (const ws of [ws1, ws2])
      expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: false });
    expect(await h.fetchDeks(t, ws1, segments(5))).toEqual(before);
  });
});

describe('KEK rotation on Azure', () => {
  it('rewraps ~2,000 DEKs while cold replicas keep fetching them; progress visible mid-way; every DEK unchanged', async () => {
    const t = await azureTenant(h);
    const ws = t.workspaceIds[0];
    const all = segments(2_000);
    const before = await h.fetchDeks(t, ws, all);
    const opId = await h.request(t.tenantId, ws, OperationKind.KekRotation);

    const { op, failures, sawMidwayProgress } = await whileReading(h, t, ws, opId, before, {
      readers: 2,
      timeoutMs: 30_000,
      minRounds: 3,
    });
    expect(failures).toEqual([]);
    expect(op).toMatchObject({ state: 'succeeded', progressTotal: op.progressDone });
    // All 2,000 plus the DEKs the readers created before the switch to version 2.
    expect(op.progressDone).toBeGreaterThanOrEqual(2_000);
    expect(sawMidwayProgress).toBe(true);

    const rows = await kekRows(t.tenantId, ws);
    expect(rows.map((r) => [r.version, r.state])).toEqual([
      [1, 'retired'],
      [2, 'active'],
    ]);
    // The new KEK is wrapped by the customer's Azure key, at its current version.
    expect(rows[1]).toMatchObject({
      keyConfigurationId: t.keyConfigurationId,
      providerKeyVersion: await currentVersion(t),
    });
    const stray = await h.ds.query(`SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1 AND kek_version <> 2`, [
      ws,
    ]);
    expect(stray[0].n).toBe(0);
    expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', currentKekVersion: 2 });

    const after = await h.fetchDeks(t, ws, all);
    expect(after.size).toBe(2_000);
    for (const [seg, dek] of before) expect(after.get(seg)).toBe(dek);
  }, 60_000);
});

describe('revocation on Azure reaches shredded only after the confirmation window', () => {
  it('by disabling the key; reinstate fails while it is disabled and brings the same DEKs back once re-enabled', async () => {
    const t = await azureTenant(h, { workspaces: 2 });
    const [ws1, ws2] = t.workspaceIds;
    const dek1 = await h.fetchDeks(t, ws1, ['s1', 's2']);
    const dek2 = await h.fetchDeks(t, ws2, ['s1']);
    await setEnabled(t, false);
    await expectShredded(h, t, { reason: /key_disabled/ });

    const denied = await reinstate(h, t, ws1);
    expect(denied.state).toBe('failed');
    expect(denied.error).toMatch(/still cannot unwrap/);
    expect((await h.workspace(t.tenantId, ws1)).keyState).toBe('shredded');

    await setEnabled(t, true);
    for (const ws of [ws1, ws2]) {
      const ok = await reinstate(h, t, ws);
      expect(ok.state).toBe('succeeded');
      expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: false });
    }
    expect(await h.fetchDeks(t, ws1, ['s1', 's2'])).toEqual(dek1);
    expect(await h.fetchDeks(t, ws2, ['s1'])).toEqual(dek2);
  });

  it('by removing Keyhold’s access grant; reinstate fails until the customer grants it again', async () => {
    const t = await azureTenant(h);
    const ws = t.workspaceIds[0];
    const dek = await h.fetchDeks(t, ws, ['s1']);
    await az.revokeVendor(t.keyName);
    await expectShredded(h, t, { reason: /access_denied/ });

    const denied = await reinstate(h, t);
    expect(denied.state).toBe('failed');
    expect(denied.error).toMatch(/still cannot unwrap.*access_denied/);
    await az.grantVendor(t.keyName);
    const ok = await reinstate(h, t);
    expect(ok.state).toBe('succeeded');
    expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: false });
    expect(await h.fetchDeks(t, ws, ['s1'])).toEqual(dek);
  });

  it('by deleting the key (soft delete: revoked, recoverable by its owner); a purged key is gone for good', async () => {
    const t = await azureTenant(h);
    const ws = t.workspaceIds[0];
    const dek = await h.fetchDeks(t, ws, ['s1']);
    const deleted = await az.admin('DELETE', `/azure/keys/${t.keyName}`);
    expect(deleted.status).toBe(204);
    await expectShredded(h, t, { reason: /key_pending_deletion/ });
    const denied = await reinstate(h, t);
    expect(denied.state).toBe('failed');
    expect(denied.error).toMatch(/still cannot unwrap.*key_not_found/);
    // The owner recovers the soft-deleted key: the workspace comes back with the same DEKs.
    expect((await az.admin('POST', `/azure/deletedkeys/${t.keyName}/recover`)).status).toBe(200);
    const ok = await reinstate(h, t);
    expect(ok.state).toBe('succeeded');
    expect(await h.fetchDeks(t, ws, ['s1'])).toEqual(dek);
    // Deleted and purged: revoked for good.
    await az.admin('DELETE', `/azure/keys/${t.keyName}`);
    expect((await az.admin('DELETE', `/azure/deletedkeys/${t.keyName}`)).status).toBe(204);
    await expectShredded(h, t, { reason: /key_not_found/ });
  });
});

describe('the ownership tag removed by the key owner', () => {
  it('stops Keyhold using the key (degraded, DEKs refused on a cold read) but never shreds; the tag restored brings the same DEKs back', async () => {
    const t = await azureTenant(h, { workspaces: 2 });
    const [ws1, ws2] = t.workspaceIds;
    const dek1 = await h.fetchDeks(t, ws1, ['s1', 's2']);
    const dek2 = await h.fetchDeks(t, ws2, ['s1']);
    await tagAzureKey(h, t.tenantId, t.keyName, false);

    // Probes see the missing proof: not a revocation signal, so the window never starts counting.
    for (let i = 0; i < 2; i++) {
      const op = await checkUntilDone(h, t, ws1, 30_000);
      expect(op.state).toBe('succeeded');
      expect(op.params.result).not.toMatchObject({ outcome: 'shredded' });
    }
    await expectDegradedNeverShredded(h, [t]);
    // A cold replica cannot unwrap the KEK without the proof: the DEK is refused, not served.
    await new Promise((r) => setTimeout(r, 350));
    await expect(h.fetchDeks(t, ws1, ['s1'])).rejects.toThrow(/ownership_unproven/);

    await tagAzureKey(h, t.tenantId, t.keyName, true);
    await expectRecovered(h, [t]);
    expect(await h.fetchDeks(t, ws1, ['s1', 's2'])).toEqual(dek1);
    expect(await h.fetchDeks(t, ws2, ['s1'])).toEqual(dek2);
  }, 90_000);
});

describe('transient Azure failures never shred', () => {
  it('throttling (429), 5xx, connection resets and hung calls: inconclusive, degraded but active, zero shreds; recovered after', async () => {
    const kinds = ['throttle', 'error', 'reset', 'hang'] as const;
    const tenants = await Promise.all(kinds.map(() => azureTenant(h, { workspaces: 2 })));
    // The emulator matches a rule's keyId against the key URL it was called on (versionless: `${vault}/keys/${name}`).
    kinds.forEach((kind, i) =>
      az.faults.add({
        cloud: 'azure',
        keyId: tenants[i].keyId,
        kind,
        ...(kind === 'hang' ? { operation: 'unwrapKey' } : {}),
      }),
    );

    const ops = await Promise.all(tenants.map((t) => checkUntilDone(h, t, t.workspaceIds[0], 45_000)));
    for (const [i, op] of ops.entries()) {
      expect(op.state).toBe('succeeded');
      expect(op.params.result).toMatchObject({ outcome: 'inconclusive' });
      expect(Number(op.params.probes)).toBeGreaterThanOrEqual(2);
      // The faults really were hit (the probe reached the vault and was answered by the fault, not by a grant check).
      expect(az.counters.total({ cloud: 'azure', outcome: `fault:${kinds[i]}` })).toBeGreaterThan(0);
    }
    await expectDegradedNeverShredded(h, tenants);

    // Faults gone: the next check finds the key healthy and clears the degraded flag.
    az.faults.clear();
    await expectRecovered(h, tenants);
  }, 90_000);
});
