import { randomBytes, randomUUID } from 'node:crypto';
import { DisableKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { OperationKind } from '@app/jobs';
import { KekCache } from '@app/kek-cache';
import {
  BindWorkspace,
  DeleteKeyConfiguration,
  DekService,
  DestroyWorkspace,
  KekResolver,
  RegisterKeyConfiguration,
} from '@app/keys';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { expectShredded, waitFor } from './assertions';
import { azureTenant } from './azure-tenant';
import { GCP_CUSTOMER_LOCATION, gcpTenant, setKeyPolicy } from './gcp-tenant';
import { AwsTenant, JobsHarness, startJobsHarness } from './harness';
import {
  awsOwnerOpener,
  azureOwnerOpener,
  gcpOwnerOpener,
  probeResidue,
  ResidueOpener,
} from '../../hardening/lib/residue-probe';

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
  const before = await probeResidue(h.ds, s.ownerOfA, {
    tenantId: s.tenantId,
    workspaceId: w,
    keyConfigurationIds: [s.keyA],
    maxKekVersion: 3,
  });
  expect(before.unwrapped).toBeGreaterThan(0);

  const b = await s.addKeyB();
  const bound = await new BindWorkspace(h.deps).execute({
    actor: 'admin:test',
    tenantId: s.tenantId,
    workspaceId: w,
    keyConfigurationId: b.keyConfigurationId,
  });
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

  await destroyedLeavesNothing(s, v, 1);
}

/** DELETE of a workspace bound to A: no KEK or DEK row left, nothing stored for it opens under A, 410 afterwards. */
async function destroyedLeavesNothing(s: Scenario, v: string, maxKekVersion: number): Promise<void> {
  const probeV = () =>
    probeResidue(h.ds, s.ownerOfA, {
      tenantId: s.tenantId,
      workspaceId: v,
      keyConfigurationIds: [s.keyA],
      maxKekVersion,
    });
  // Positive control: V's KEK is stored under A and opens.
  expect((await probeV()).unwrapped).toBeGreaterThan(0);
  const name: string = (await h.ds.query(`SELECT name FROM workspaces WHERE id = $1`, [v]))[0].name;
  await expect(
    new DestroyWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: s.tenantId,
      workspaceId: v,
      input: { confirm: `${name} ` },
    }),
  ).rejects.toMatchObject({ code: 'CONFIRMATION_MISMATCH' });
  await expect(
    new DestroyWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: s.tenantId,
      workspaceId: v,
      input: { confirm: undefined },
    }),
  ).rejects.toMatchObject({ code: 'CONFIRMATION_MISMATCH' });
  expect((await h.workspace(s.tenantId, v)).keyState).toBe('active');

  const view = await new DestroyWorkspace(h.deps).execute({
    actor: 'admin:test',
    tenantId: s.tenantId,
    workspaceId: v,
    input: { confirm: name },
  });
  expect(view).toMatchObject({ id: v, keyState: 'destroyed', keyConfigurationId: null, kekVersion: null });
  const left = await h.ds.query(
    `SELECT (SELECT count(*)::int FROM kek_versions WHERE workspace_id = $1) AS keks, (SELECT count(*)::int FROM deks WHERE workspace_id = $1) AS deks`,
    [v],
  );
  expect(left[0]).toEqual({ keks: 0, deks: 0 });
  const report = await probeV();
  expect(report.tried).toBeGreaterThan(0);
  expect(report.hits).toEqual([]);
  expect(report.unwrapped).toBe(0);

  await expect(h.fetchDeks(s, v, ['v-0', 'never-seen'])).rejects.toMatchObject({ code: 'WORKSPACE_DESTROYED' });
  await expect(h.request(s.tenantId, v, OperationKind.Reinstate)).rejects.toMatchObject({
    code: 'WORKSPACE_DESTROYED',
  });
  await expect(
    new BindWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: s.tenantId,
      workspaceId: v,
      keyConfigurationId: s.keyA,
    }),
  ).rejects.toMatchObject({
    code: 'DESTROYED_WORKSPACE_NOT_BINDABLE',
  });
  await expect(
    new DestroyWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: s.tenantId,
      workspaceId: v,
      input: { confirm: name },
    }),
  ).rejects.toMatchObject({ code: 'WORKSPACE_DESTROYED' });
  const audit = await h.ds.query(
    `SELECT actor, at, details FROM audit_events WHERE tenant_id = $1 AND action = 'workspace.destroyed' AND target = $2`,
    [s.tenantId, `workspace:${v}`],
  );
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({
    actor: 'admin:test',
    details: expect.objectContaining({ name, from: 'active', kekVersionsDeleted: maxKekVersion }),
  });
  expect(audit[0].at).toBeInstanceOf(Date);
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
        return {
          keyConfigurationId: b.keyConfigurationId,
          revoke: async () => {
            await h.kms.send(new DisableKeyCommand({ KeyId: b.keyArn }));
          },
        };
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
        const [ring] = await t.owner.createKeyRing({
          parent: GCP_CUSTOMER_LOCATION,
          keyRingId: `ring-${randomBytes(5).toString('hex')}`,
          keyRing: {},
        });
        const [key] = await t.owner.createCryptoKey({
          parent: ring.name!,
          cryptoKeyId: 'kek',
          cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
        });
        await setKeyPolicy(h, key.name!, t.serviceAccount, true);
        const kc = await new RegisterKeyConfiguration(h.deps).execute({
          actor: 'admin:test',
          tenantId: t.tenantId,
          input: {
            name: `gcp-b-${randomUUID().slice(0, 8)}`,
            provider: 'gcp',
            gcp: { keyName: key.name!, serviceAccount: t.serviceAccount },
          },
        });
        if (kc.status !== 'valid') throw new Error('key B did not validate');
        return { keyConfigurationId: kc.id, revoke: () => setKeyPolicy(h, key.name!, t.serviceAccount, false) };
      },
    });
  }, 120_000);
});

const keyIdOf = (arn: string) => arn.split('/').pop() as string;

describe('a key configuration is in use while any stored form depends on it', () => {
  it('the database itself refuses to delete A while a KEK form under A is stored, current or previous; the API answers 409', async () => {
    const t = await h.awsTenant();
    const w = t.workspaceIds[0];
    const b = await t.addKey();
    const rawDelete = (id: string) =>
      h.ds.query(`DELETE FROM key_configurations WHERE tenant_id = $1 AND id = $2`, [t.tenantId, id]);
    const constraintOf = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        return 'deleted';
      } catch (err) {
        return String(
          (err as { driverError?: { constraint?: string }; constraint?: string }).driverError?.constraint ??
            (err as { constraint?: string }).constraint,
        );
      }
    };
    // Bound to A: the binding's foreign key refuses.
    expect(await constraintOf(() => rawDelete(t.keyConfigurationId))).toMatch(
      /^(workspaces|kek_versions)_key_configuration_fk$/,
    );
    await expect(
      new DeleteKeyConfiguration(h.deps).execute({
        actor: 'admin:test',
        tenantId: t.tenantId,
        id: t.keyConfigurationId,
      }),
    ).rejects.toMatchObject({ code: 'KEY_CONFIGURATION_IN_USE' });

    // The binding alone moved (each rollback below): the KEK form under A still holds A.
    const inTx = (sql: string) =>
      h.ds.transaction(async (m) => {
        await m.query(`UPDATE workspaces SET key_configuration_id = $2 WHERE id = $1`, [w, b.keyConfigurationId]);
        if (sql) await m.query(sql, [w, b.keyConfigurationId]);
        await m.query(`DELETE FROM key_configurations WHERE tenant_id = $1 AND id = $2`, [
          t.tenantId,
          t.keyConfigurationId,
        ]);
      });
    expect(await constraintOf(() => inTx(''))).toBe('kek_versions_key_configuration_fk');
    // Mid-re-key: the row is under B, its previous form under A (what the rollback needs while the re-key runs).
    expect(
      await constraintOf(() =>
        inTx(`UPDATE kek_versions SET previous_wrapped = wrapped, previous_key_configuration_id = key_configuration_id,
                key_configuration_id = $2 WHERE workspace_id = $1`),
      ),
    ).toBe('kek_versions_previous_key_configuration_fk');

    // After the re-key commits, nothing depends on A any more: it can be deleted.
    const bound = await new BindWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      workspaceId: w,
      keyConfigurationId: b.keyConfigurationId,
    });
    if (bound.kind !== 'rekey') throw new Error('expected a re-key');
    expect(await h.waitForOperation(t.tenantId, bound.operationId)).toMatchObject({ state: 'succeeded' });
    await new DeleteKeyConfiguration(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      id: t.keyConfigurationId,
    });
  });
});

describe('destroy while an operation is running', () => {
  async function destroyMidway(
    t: AwsTenant,
    w: string,
    start: () => Promise<string>,
    slowKey: string,
    slowOperation = 'Encrypt',
  ) {
    await h.fetchDeks(t, w, segments(50, 'd'));
    h.aws.faults.add({
      cloud: 'aws',
      keyId: keyIdOf(slowKey),
      operation: slowOperation,
      kind: 'latency',
      latencyMs: 1500,
    });
    try {
      const opId = await start();
      // Mid-flight: the operation holds its working state (and is waiting on the slowed KMS call).
      await waitFor(
        'the working state',
        async () => ['kek_rotating', 'rewrapping', 'rekeying'].includes((await h.workspace(t.tenantId, w)).keyState),
        10_000,
      );
      await new Promise((res) => setTimeout(res, 200));
      const name: string = (await h.ds.query(`SELECT name FROM workspaces WHERE id = $1`, [w]))[0].name;
      await new DestroyWorkspace(h.deps).execute({
        actor: 'admin:test',
        tenantId: t.tenantId,
        workspaceId: w,
        input: { confirm: name },
      });
      const op = await h.waitForOperation(t.tenantId, opId, 20_000);
      expect(op.state).toBe('failed');
      expect(op.error).toMatch(/WORKSPACE_STATE_CONFLICT|destroyed|changed/);
    } finally {
      h.aws.faults.clear();
    }
    expect(await h.workspace(t.tenantId, w)).toMatchObject({
      keyState: 'destroyed',
      currentKekVersion: null,
      keyConfigurationId: null,
    });
    const left = await h.ds.query(
      `SELECT (SELECT count(*)::int FROM kek_versions WHERE workspace_id = $1) AS keks, (SELECT count(*)::int FROM deks WHERE workspace_id = $1) AS deks`,
      [w],
    );
    expect(left[0]).toEqual({ keks: 0, deks: 0 });
    // A reinstate never brings it back; a late write of a KEK form is refused by the database.
    await expect(h.request(t.tenantId, w, OperationKind.Reinstate)).rejects.toMatchObject({
      code: 'WORKSPACE_DESTROYED',
    });
    await expect(
      h.ds.query(
        `INSERT INTO kek_versions (tenant_id, workspace_id, version, key_configuration_id, wrapped, state, kcv) VALUES ($1, $2, 9, $3, '\\x01', 'active', $4)`,
        [t.tenantId, w, t.keyConfigurationId, Buffer.alloc(16)],
      ),
    ).rejects.toThrow(/destroyed/);
  }

  it('a KEK rotation mid-flight fails its compare-and-set and resurrects nothing', async () => {
    const t = await h.awsTenant();
    await destroyMidway(
      t,
      t.workspaceIds[0],
      () => h.request(t.tenantId, t.workspaceIds[0], OperationKind.KekRotation),
      t.keyArn,
    );
  }, 60_000);

  it('a CMK rewrap mid-flight fails and resurrects nothing', async () => {
    const t = await h.awsTenant();
    await h.kms.send(new RotateKeyOnDemandCommand({ KeyId: t.keyArn }));
    await destroyMidway(
      t,
      t.workspaceIds[0],
      () => h.request(t.tenantId, t.workspaceIds[0], OperationKind.CmkRewrap),
      t.keyArn,
      'ReEncrypt',
    );
  }, 60_000);

  it('a re-key mid-flight fails its compare-and-set and resurrects nothing', async () => {
    const t = await h.awsTenant();
    const b = await t.addKey();
    await destroyMidway(
      t,
      t.workspaceIds[0],
      async () => {
        const bound = await new BindWorkspace(h.deps).execute({
          actor: 'admin:test',
          tenantId: t.tenantId,
          workspaceId: t.workspaceIds[0],
          keyConfigurationId: b.keyConfigurationId,
        });
        if (bound.kind !== 'rekey') throw new Error('expected a re-key');
        return bound.operationId;
      },
      b.keyArn,
    );
  }, 60_000);
});

describe('a replica that missed a KEK rotation never loses a DEK to a retired version', () => {
  /** An API replica's DEK service with its caches on and no invalidation wired: it will miss the rotation. */
  function staleReplica() {
    const cache = new KekCache({ ttlMs: 60_000, maxEntries: 1000 });
    const resolver = new KekResolver(
      h.deps.repos,
      h.deps.registry,
      cache,
      { onRevocationSuspected: async () => undefined },
      1,
    );
    const service = new DekService(h.deps.repos, resolver, {
      stateCacheTtlMs: 60_000,
      wrappedCacheEntries: 1000,
      wrapReserveChunk: 100,
      batchMax: 1000,
    });
    return { service, cache };
  }

  it('cached rows under the retired version, and new DEKs it would create under it, are re-read and created under the live version', async () => {
    const t = await h.awsTenant();
    const w = t.workspaceIds[0];
    const p = { tid: t.tenantId, sub: t.principalId };
    const a = staleReplica();
    const b = staleReplica();
    const before = new Map((await a.service.getDeks(p, w, segments(5, 's'))).map((d) => [d.segmentId, d.dek]));
    await b.service.getDeks(p, w, segments(5, 's'));
    await runOp(t.tenantId, w, OperationKind.KekRotation);
    const retired = await h.ds.query(
      `SELECT state, wrapped IS NULL AS gone FROM kek_versions WHERE workspace_id = $1 AND version = 1`,
      [w],
    );
    expect(retired[0]).toEqual({ state: 'retired', gone: true });

    // Replica A still has the KEK of version 1 in memory: a new segment would be wrapped under it; the database
    // refuses that row, and A answers from fresh reads instead.
    const fresh = await a.service.getDeks(p, w, ['after-rotation', ...segments(5, 's')]);
    expect(fresh[0].kekVersion).toBe(2);
    for (const d of fresh.slice(1)) expect(d.dek).toBe(before.get(d.segmentId));
    // Replica B lost its KEK (evicted) but kept the rows naming version 1: they are re-read, same DEKs.
    b.cache.dropWorkspace(t.tenantId, w, 'invalidate');
    const reread = await b.service.getDeks(p, w, segments(5, 's'));
    for (const d of reread) expect(d).toMatchObject({ kekVersion: 2, dek: before.get(d.segmentId) });
    const onRetired = await h.ds.query(
      `SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1 AND kek_version = 1`,
      [w],
    );
    expect(onRetired[0].n).toBe(0);
  }, 60_000);
});
