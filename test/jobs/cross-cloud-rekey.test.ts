import { randomBytes, randomUUID } from 'node:crypto';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { BindWorkspace, GetTenant, RegisterKeyConfiguration } from '@app/keys';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { addAzureKey } from './azure-tenant';
import { AwsTenant, JobsHarness, startJobsHarness } from './harness';

/**
 * A workspace moves between clouds without its DEKs changing: AWS KMS → Azure Key Vault → Google Cloud KMS, each
 * move a 'rekey' operation run by the worker (unwrap under the old customer key, wrap under the new, verify,
 * switch). DEKs are served to cold replicas throughout each move, and after each move the previous cloud's key can
 * be disabled without any effect on the workspace.
 */
let h: JobsHarness;
let worker: RunningWorker;
let gcpOwner: KeyManagementServiceClient;

beforeAll(async () => {
  h = await startJobsHarness({ clouds: ['azure', 'gcp'] });
  gcpOwner = h.gcp!.ownerKms();
  worker = await startTestWorker(h.config);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

const segments = (n: number, prefix = 'seg') =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

/**
 * The customer's Cloud KMS key for an existing Keyhold tenant (as the project owner: key ring, key, and an IAM
 * binding for the tenant's own service account — what Keyhold's hint tells them to run), registered and validated.
 */
async function addGcpKey(tenantId: string): Promise<{ keyName: string; keyConfigurationId: string }> {
  type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];
  const tenant = (await new GetTenant(h.deps).execute({ tenantId })) as { gcp?: { serviceAccount?: string } | null };
  const serviceAccount = tenant.gcp?.serviceAccount;
  if (!serviceAccount) throw new Error('the tenant has no GCP service account (is the GCP binding configured?)');
  const [ring] = await gcpOwner.createKeyRing({
    parent: 'projects/customer-proj/locations/europe-west1',
    keyRingId: `ring-${randomBytes(6).toString('hex')}`,
    keyRing: {},
  });
  const [key] = await gcpOwner.createCryptoKey({
    parent: ring.name!,
    cryptoKeyId: 'kek',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
  });
  const members = [`serviceAccount:${serviceAccount}`];
  const policy = {
    bindings: [
      { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members },
      { role: 'roles/cloudkms.viewer', members },
    ],
  };
  await gcpOwner.setIamPolicy({ resource: key.name!, policy } as unknown as SetIamPolicyArg);
  const kc = await new RegisterKeyConfiguration(h.deps).execute({
    actor: 'admin:test',
    tenantId,
    input: {
      name: `gcp-${randomUUID().slice(0, 8)}`,
      provider: 'gcp',
      gcp: { keyName: key.name!, serviceAccount },
    },
  });
  if (kc.status !== 'valid')
    throw new Error(`test GCP key configuration did not validate: ${JSON.stringify(kc.validation)}`);
  return { keyName: key.name!, keyConfigurationId: kc.id };
}

async function kekRows(tenantId: string, workspaceId: string) {
  return h.ds.query(
    `SELECT k.version, k.state, k.key_configuration_id AS "keyConfigurationId", c.provider,
            k.provider_key_version AS "providerKeyVersion", k.previous_key_configuration_id AS "previousKeyConfigurationId",
            k.previous_wrapped IS NOT NULL AS "hasPrevious"
     FROM kek_versions k JOIN key_configurations c ON c.tenant_id = k.tenant_id AND c.id = k.key_configuration_id
     WHERE k.tenant_id = $1 AND k.workspace_id = $2 ORDER BY k.version`,
    [tenantId, workspaceId],
  );
}

/**
 * Re-binds the workspace while cold replicas keep asking for DEKs (each round a fresh DEK service: own KEK cache,
 * so every round unwraps the KEK under whichever customer key the row names at that moment). Returns the
 * finished operation, the rounds the readers did and every failure they saw.
 */
async function rekeyUnderLoad(
  t: AwsTenant,
  ws: string,
  known: Map<string, string>,
  targetKeyConfigurationId: string,
  slowTargetWrap: () => void,
) {
  const seg = [...known.keys()];
  let finished = false;
  let duringRekey = 0;
  const failures: unknown[] = [];
  // The target key's wrap is slowed down (emulator latency fault), so the move is long enough for the readers to
  // be served many times while the workspace is in 'rekeying' — counted below, not assumed.
  slowTargetWrap();
  const readers = Array.from({ length: 2 }, async (_, r) => {
    let round = 0;
    // Keep reading until the move is over, and for a few rounds at least (also after the switch).
    while (!finished || round < 3) {
      const { service } = h.dekService();
      const rekeying = (await h.workspace(t.tenantId, ws)).keyState === 'rekeying';
      const pick = Array.from({ length: 10 }, (_, i) => seg[(round * 7 + i * 3 + r) % seg.length]);
      try {
        const got = await service.getDeks({ tid: t.tenantId, sub: t.principalId }, ws, [
          ...new Set(pick),
          `new-${targetKeyConfigurationId.slice(0, 8)}-${r}-${round}`,
        ]);
        for (const d of got)
          if (known.has(d.segmentId) && known.get(d.segmentId) !== d.dek) failures.push(`changed ${d.segmentId}`);
        if (rekeying) duringRekey++;
      } catch (err) {
        failures.push(err);
      }
      round++;
    }
    return round;
  });
  let op;
  let rounds = 0;
  try {
    const bound = await new BindWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      workspaceId: ws,
      keyConfigurationId: targetKeyConfigurationId,
    });
    if (bound.kind !== 'rekey') throw new Error(`expected a re-key operation, got ${bound.kind}`);
    op = await h.waitForOperation(t.tenantId, bound.operationId, 30_000);
  } finally {
    finished = true;
    rounds = (await Promise.all(readers)).reduce((a, b) => a + b, 0);
    h.azure!.faults.clear();
    h.gcp!.faults.clear();
  }
  return { op, failures, rounds, duringRekey };
}

describe('cross-cloud re-key: AWS → Azure → GCP', () => {
  it('moves a workspace across three clouds; same DEKs throughout; each previous key can then be disabled', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const all = segments(200);
    const before = await h.fetchDeks(t, ws, all);
    expect(before.size).toBe(200);
    const [onAws] = await kekRows(t.tenantId, ws);
    expect(onAws).toMatchObject({ provider: 'aws', keyConfigurationId: t.keyConfigurationId });

    // ---- AWS → Azure (a key configuration added to this existing tenant).
    const azureKey = await addAzureKey(h, t.tenantId);
    const toAzure = await rekeyUnderLoad(t, ws, before, azureKey.keyConfigurationId, () =>
      h.azure!.faults.add({
        cloud: 'azure',
        operation: 'wrapKey',
        keyId: azureKey.keyId,
        kind: 'latency',
        latencyMs: 600,
      }),
    );
    expect(toAzure.failures).toEqual([]);
    expect(toAzure.rounds).toBeGreaterThanOrEqual(6);
    expect(toAzure.duringRekey).toBeGreaterThan(0);
    expect(toAzure.op).toMatchObject({ kind: 'rekey', state: 'succeeded', error: null });
    expect(toAzure.op.params.result).toMatchObject({
      keyConfigurationId: azureKey.keyConfigurationId,
      kekVersions: [1],
    });
    expect(await h.workspace(t.tenantId, ws)).toMatchObject({
      keyState: 'active',
      degraded: false,
      keyConfigurationId: azureKey.keyConfigurationId,
    });
    const azureVersion = (await h.azure!.customerKeys().getKey(azureKey.keyName)).properties.version;
    for (const r of await kekRows(t.tenantId, ws)) {
      expect(r).toMatchObject({
        provider: 'azure',
        keyConfigurationId: azureKey.keyConfigurationId,
        providerKeyVersion: azureVersion,
        previousKeyConfigurationId: null,
        hasPrevious: false,
      });
    }
    // The AWS key goes away: a cold replica still serves every DEK, unchanged (it unwraps under Azure only).
    await h.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
    const afterAzure = await h.fetchDeks(t, ws, all);
    expect([...afterAzure.entries()]).toEqual([...before.entries()]);

    // ---- Azure → GCP.
    const gcpKey = await addGcpKey(t.tenantId);
    const toGcp = await rekeyUnderLoad(t, ws, before, gcpKey.keyConfigurationId, () =>
      h.gcp!.faults.add({ cloud: 'gcp', operation: 'Encrypt', keyId: gcpKey.keyName, kind: 'latency', latencyMs: 600 }),
    );
    expect(toGcp.failures).toEqual([]);
    expect(toGcp.rounds).toBeGreaterThanOrEqual(6);
    expect(toGcp.duringRekey).toBeGreaterThan(0);
    expect(toGcp.op).toMatchObject({ kind: 'rekey', state: 'succeeded', error: null });
    expect(await h.workspace(t.tenantId, ws)).toMatchObject({
      keyState: 'active',
      degraded: false,
      keyConfigurationId: gcpKey.keyConfigurationId,
    });
    for (const r of await kekRows(t.tenantId, ws)) {
      expect(r).toMatchObject({
        provider: 'gcp',
        keyConfigurationId: gcpKey.keyConfigurationId,
        previousKeyConfigurationId: null,
        hasPrevious: false,
      });
    }
    // The Azure key is disabled too (every version): DEKs still served by a cold replica, unwrapped under GCP.
    const disabled = await h.azure!.admin('POST', `/azure/keys/${azureKey.keyName}/enabled`, { enabled: false });
    expect(disabled.status).toBe(200);
    const afterGcp = await h.fetchDeks(t, ws, all);
    expect([...afterGcp.entries()]).toEqual([...before.entries()]);
    // And DEKs the readers created during the moves are there too, under the same KEK.
    const created = await h.ds.query(
      `SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1 AND segment_id LIKE 'new-%'`,
      [ws],
    );
    expect(created[0].n).toBeGreaterThan(0);

    // With both earlier keys disabled, the only customer key in use is GCP's: a revocation check finds it healthy.
    const check = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, ws, 'revocation-check'), 20_000);
    expect(check.params.result).toMatchObject({ outcome: 'active' });
  }, 60_000);
});
