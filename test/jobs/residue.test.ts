import { randomBytes, randomUUID } from 'node:crypto';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { OperationKind } from '@app/jobs';
import { BindWorkspace, RegisterKeyConfiguration } from '@app/keys';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { expectShredded } from './assertions';
import { azureTenant } from './azure-tenant';
import { GCP_CUSTOMER_LOCATION, gcpTenant, setKeyPolicy } from './gcp-tenant';
import { JobsHarness, startJobsHarness } from './harness';
import { awsOwnerOpener, azureOwnerOpener, gcpOwnerOpener, probeResidue, ResidueOpener } from './residue-probe';

/**
 * "No wrapped form outlives its purpose", tried as an attacker would: a workspace W is bound to customer key A, its
 * KEK rotated twice (versions 1 and 2 retired, 3 active), re-keyed to key B, then B is revoked and W shredded. Key A
 * is still trusted (another workspace of the tenant uses it), so A's owner can call the KMS with A at will. Every
 * byte value stored in any row naming W is tried under A with every context Keyhold could have used: none may open.
 * Same for a workspace destroyed on purpose (DELETE), which must also leave no KEK or DEK row behind.
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({ clouds: ['azure', 'gcp'] });
  worker = await startTestWorker(h.config);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

interface Scenario {
  tenantId: string;
  principalId: string;
  /** [W (re-keyed then shredded), V (stays on A)]. */
  workspaceIds: string[];
  keyA: string;
  /** Register another key of the same tenant in the same cloud (B). */
  addKeyB(): Promise<{ keyConfigurationId: string; revoke(): Promise<void> }>;
  /** A's owner, through the cloud's SDK. */
  ownerOfA: ResidueOpener;
}

const segments = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function runOp(tenantId: string, workspaceId: string, kind: OperationKind): Promise<void> {
  const op = await h.waitForOperation(tenantId, await h.request(tenantId, workspaceId, kind), 30_000);
  expect(op).toMatchObject({ state: 'succeeded', error: null });
}

async function residueAfterRekeyAndShred(s: Scenario): Promise<void> {
  const [w, v] = s.workspaceIds;
  await h.fetchDeks(s, w, segments(30, 'w'));
  await h.fetchDeks(s, v, segments(5, 'v'));
  await runOp(s.tenantId, w, OperationKind.KekRotation);
  await h.fetchDeks(s, w, segments(10, 'w2'));
  await runOp(s.tenantId, w, OperationKind.KekRotation);
  expect((await h.workspace(s.tenantId, w)).currentKekVersion).toBe(3);

  // Positive control: while W is on A, the probe does open W's stored KEK forms under A (it can find what it seeks).
  const before = await probeResidue(h.ds, s.ownerOfA, { tenantId: s.tenantId, workspaceId: w, keyConfigurationIds: [s.keyA], maxKekVersion: 3 });
  expect(before.unwrapped).toBeGreaterThan(0);

  const b = await s.addKeyB();
  const bound = await new BindWorkspace(h.deps).execute('admin:test', s.tenantId, w, b.keyConfigurationId);
  if (bound.kind !== 'rekey') throw new Error('expected a re-key');
  const op = await h.waitForOperation(s.tenantId, bound.operationId, 30_000);
  expect(op).toMatchObject({ state: 'succeeded', error: null });
  // After the switch no form under A is left in any column of any version, and nothing depends on A for W.
  const underA = await h.ds.query(
    `SELECT count(*)::int AS n FROM kek_versions WHERE workspace_id = $1 AND ($2 IN (key_configuration_id, previous_key_configuration_id) OR previous_wrapped IS NOT NULL)`,
    [w, s.keyA],
  );
  expect(underA[0].n).toBe(0);

  await b.revoke();
  await expectShredded(h, { tenantId: s.tenantId, principalId: s.principalId, workspaceIds: [w] });
  expect((await h.workspace(s.tenantId, v)).keyState).toBe('active');

  const after = await probeResidue(h.ds, s.ownerOfA, {
    tenantId: s.tenantId,
    workspaceId: w,
    keyConfigurationIds: [s.keyA, b.keyConfigurationId],
    maxKekVersion: 3,
  });
  expect(after.tried).toBeGreaterThan(0);
  expect(after.hits).toEqual([]);
  expect(after.unwrapped).toBe(0);
}

describe('AWS', () => {
  it('re-key A → B, B revoked, W shredded: nothing stored for W opens under A', async () => {
    const t = await h.awsTenant({ workspaces: 2 });
    await residueAfterRekeyAndShred({
      ...t,
      keyA: t.keyConfigurationId,
      ownerOfA: awsOwnerOpener(h.kms, t.keyArn),
      async addKeyB() {
        const b = await t.addKey();
        return { keyConfigurationId: b.keyConfigurationId, revoke: async () => void (await h.kms.send(new DisableKeyCommand({ KeyId: b.keyArn }))) };
      },
    });
  }, 120_000);
});

describe('Azure', () => {
  it('re-key A → B, B revoked, W shredded: nothing stored for W opens under A', async () => {
    const t = await azureTenant(h, { workspaces: 2 });
    const d = AZURE_EMULATOR_DEFAULTS;
    await residueAfterRekeyAndShred({
      ...t,
      keyA: t.keyConfigurationId,
      ownerOfA: azureOwnerOpener(h.azure!, t.keyName, t.keyId, d.customerAdminClientId, d.customerAdminClientSecret),
      async addKeyB() {
        const b = await t.addKey();
        return { keyConfigurationId: b.keyConfigurationId, revoke: () => h.azure!.revokeVendor(b.keyName) };
      },
    });
  }, 120_000);
});

describe('GCP', () => {
  it('re-key A → B, B revoked, W shredded: nothing stored for W opens under A', async () => {
    const t = await gcpTenant(h, { workspaces: 2 });
    await residueAfterRekeyAndShred({
      ...t,
      keyA: t.keyConfigurationId,
      ownerOfA: gcpOwnerOpener(t.owner, t.keyName),
      async addKeyB() {
        const [ring] = await t.owner.createKeyRing({ parent: GCP_CUSTOMER_LOCATION, keyRingId: `ring-${randomBytes(5).toString('hex')}`, keyRing: {} });
        const [key] = await t.owner.createCryptoKey({ parent: ring.name!, cryptoKeyId: 'kek', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
        await setKeyPolicy(h, key.name!, t.serviceAccount, true);
        const kc = await new RegisterKeyConfiguration(h.deps).execute('admin:test', t.tenantId, {
          name: `gcp-b-${randomUUID().slice(0, 8)}`,
          provider: 'gcp',
          gcp: { keyName: key.name!, serviceAccount: t.serviceAccount },
        });
        if (kc.status !== 'valid') throw new Error('key B did not validate');
        return { keyConfigurationId: kc.id as string, revoke: () => setKeyPolicy(h, key.name!, t.serviceAccount, false) };
      },
    });
  }, 120_000);
});
