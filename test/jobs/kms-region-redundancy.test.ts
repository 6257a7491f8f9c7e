import { randomUUID } from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  KMSClient,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
} from '@aws-sdk/client-kms';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { OperationKind } from '@app/jobs';
import {
  BindWorkspace,
  CreateServicePrincipal,
  CreateWorkspace,
  DekService,
  KekResolver,
  ProviderRegistry,
  RegisterKeyConfiguration,
} from '@app/keys';
import { KekCache } from '@app/kek-cache';
import { contextToMap, decodeForms, FailoverEvent, kekWrapContext, ProviderCallObserver } from '@app/provider-port';
import { keyPolicyStatementDocument } from '@app/provider-aws';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { checkUntilDone, expectShredded } from './assertions';

/**
 * KMS-region redundancy on AWS (docs/ARCHITECTURE.md, "Replica keys"): a key configuration naming a multi-Region
 * replica in another region, through the real SDK against the emulator, whose faults can take one region down.
 * - a cold DEK fetch is served through the replica while the primary region throttles, fails or drops connections;
 * - a permanent refusal of the primary is never failed over;
 * - a regional outage (either region) never shreds;
 * - revoking the replica alone, or the primary alone, shreds, and nothing either region could open is kept;
 * - a re-key leaves no form the old keys (either region) open.
 */
const REPLICA_REGION = 'eu-west-1';
let h: JobsHarness;
let worker: RunningWorker;
let registry: ProviderRegistry;
const failovers: FailoverEvent[] = [];
const clients: KMSClient[] = [];

beforeAll(async () => {
  h = await startJobsHarness({ probeConfirmationWindowSeconds: 2, probeConfirmations: 3 });
  worker = await startTestWorker(h.config, { settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2 } });
  // An API replica of our own (own observer), so its failovers can be counted.
  const observer = new ProviderCallObserver();
  observer.onFailover((e) => failovers.push(e));
  registry = ProviderRegistry.fromEnv(h.config.providerEnv, observer);
});
afterEach(() => h.aws.faults.clear());
afterAll(async () => {
  for (const c of clients) c.destroy();
  await registry?.close();
  await worker?.close();
  await h?.close();
});

/** The customer's KMS client in a region (account root). */
function kmsIn(region: string): KMSClient {
  const c = new KMSClient({
    endpoint: h.aws.url,
    region,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  clients.push(c);
  return c;
}

/** A fresh DEK service (cold KEK cache) over our own registry: what a newly started API replica would do. */
function coldService(): DekService {
  const cache = new KekCache({ ttlMs: 60_000, maxEntries: 1000 });
  const resolver = new KekResolver(h.deps.repos, registry, cache, { onRevocationSuspected: async () => undefined }, 1);
  return new DekService(h.deps.repos, resolver, {
    stateCacheTtlMs: 0,
    wrappedCacheEntries: 0,
    wrapReserveChunk: 100,
    batchMax: 1000,
  });
}

const root = () => ({
  Sid: 'Root',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${h.aws.customerAccountId}:root` },
  Action: 'kms:*',
  Resource: '*',
});
const policy = (roleArn: string | null) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [root(), ...(roleArn ? [JSON.parse(keyPolicyStatementDocument(roleArn))] : [])],
  });

interface MrkTenant {
  tenantId: string;
  principalId: string;
  workspaceIds: string[];
  roleArn: string;
  primaryArn: string;
  replicaArn: string;
  keyConfigurationId: string;
}

async function mrkTenant(): Promise<MrkTenant> {
  const tenant = await h.createTenant('region');
  const externalId = (await h.ds.query(`SELECT external_id FROM tenants WHERE id = $1`, [tenant.id]))[0]
    .external_id as string;
  const trust = String(h.deps.registry.binding('aws').identity({ id: tenant.id, externalId }).trustPolicy);
  const role = await h.iam.send(
    new CreateRoleCommand({ RoleName: `keyhold-region-${randomUUID().slice(0, 8)}`, AssumeRolePolicyDocument: trust }),
  );
  const roleArn = role.Role!.Arn!;
  const primary = await h.kms.send(new CreateKeyCommand({ MultiRegion: true, Policy: policy(roleArn) }));
  const primaryArn = primary.KeyMetadata!.Arn!;
  const replicaArn = (
    await h.kms.send(
      new ReplicateKeyCommand({ KeyId: primaryArn, ReplicaRegion: REPLICA_REGION, Policy: policy(roleArn) }),
    )
  ).ReplicaKeyMetadata!.Arn!;
  const kc = await new RegisterKeyConfiguration(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: `mrk-${randomUUID().slice(0, 8)}`,
      provider: 'aws',
      aws: { keyArn: primaryArn, roleArn, replica: { keyArn: replicaArn } },
    },
  });
  expect(kc.status).toBe('valid');
  expect(kc.validation.checks).toEqual(
    expect.arrayContaining([expect.objectContaining({ name: 'replica_key', ok: true })]),
  );
  const ws = await new CreateWorkspace(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: { name: 'ws' },
  });
  const bound = await new BindWorkspace(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    workspaceId: ws.id,
    keyConfigurationId: kc.id,
  });
  expect(bound.kind).toBe('bound');
  const sp = await new CreateServicePrincipal(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: 'region',
      workspaceIds: [ws.id],
    },
  });
  return {
    tenantId: tenant.id,
    principalId: sp.id,
    workspaceIds: [ws.id],
    roleArn,
    primaryArn,
    replicaArn,
    keyConfigurationId: kc.id,
  };
}

const deks = (t: MrkTenant, segments: string[], svc: DekService = coldService()) =>
  h.fetchDeks(t, t.workspaceIds[0], segments, svc);
const storedForms = async (t: MrkTenant) =>
  await h.ds.query<
    Array<{
      version: number;
      wrapped: Buffer;
    }>
  >(`SELECT version, wrapped FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND state <> 'retired'`, [
    t.tenantId,
    t.workspaceIds[0],
  ]);
const shreds = async (t: MrkTenant) =>
  (
    await h.ds.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1 AND action = 'workspace.shredded'`,
      [t.tenantId],
    )
  )[0].n as number;

describe('registration', () => {
  it('stores the replica and wraps the KEK under both keys (one envelope, each form opens in its own region)', async () => {
    const t = await mrkTenant();
    const [row] = await storedForms(t);
    const forms = decodeForms(row.wrapped);
    expect(Object.keys(forms).sort()).toEqual(['primary', 'replica']);
    const ctx = contextToMap(
      kekWrapContext({
        tenantId: t.tenantId,
        workspaceId: t.workspaceIds[0],
        keyConfigurationId: t.keyConfigurationId,
        kekVersion: row.version,
      }),
    );
    // As the customer, through the SDK: each form opens in its own region (same material, so in the other too).
    await kmsIn(h.aws.region).send(
      new DecryptCommand({ KeyId: t.primaryArn, CiphertextBlob: forms.primary!.ciphertext, EncryptionContext: ctx }),
    );
    await kmsIn(REPLICA_REGION).send(
      new DecryptCommand({ KeyId: t.replicaArn, CiphertextBlob: forms.replica!.ciphertext, EncryptionContext: ctx }),
    );
    const audit = await h.ds.query(
      `SELECT details FROM audit_events WHERE tenant_id = $1 AND action = 'key_configuration.registered'`,
      [t.tenantId],
    );
    expect(audit[0].details).toMatchObject({ replica: { keyArn: t.replicaArn } });
  });

  it('refuses a replica that is not the same multi-Region key in another region (400 INVALID_IDENTIFIER, nothing stored)', async () => {
    const t = await mrkTenant();
    const other = (await h.kms.send(new CreateKeyCommand({ MultiRegion: true, Policy: policy(t.roleArn) })))
      .KeyMetadata!.Arn!;
    const plain = (await h.kms.send(new CreateKeyCommand({ Policy: policy(t.roleArn) }))).KeyMetadata!.Arn!;
    const register = (aws: Record<string, unknown>) =>
      new RegisterKeyConfiguration(h.deps).execute({
        actor: 'admin:test',
        tenantId: t.tenantId,
        input: {
          name: `bad-${randomUUID().slice(0, 8)}`,
          provider: 'aws',
          aws: { roleArn: t.roleArn, ...aws },
        },
      });
    const otherInReplicaRegion = other.replace(`:${h.aws.region}:`, `:${REPLICA_REGION}:`);
    await expect(register({ keyArn: t.primaryArn, replica: { keyArn: otherInReplicaRegion } })).rejects.toMatchObject({
      code: 'INVALID_IDENTIFIER',
      message: expect.stringMatching(/same multi-Region key/),
    });
    await expect(register({ keyArn: t.primaryArn, replica: { keyArn: t.primaryArn } })).rejects.toMatchObject({
      code: 'INVALID_IDENTIFIER',
      message: expect.stringMatching(/another region/),
    });
    await expect(
      register({ keyArn: plain, replica: { keyArn: plain.replace(`:${h.aws.region}:`, `:${REPLICA_REGION}:`) } }),
    ).rejects.toMatchObject({
      code: 'INVALID_IDENTIFIER',
      message: expect.stringMatching(/not a multi-Region key/),
    });
    await expect(register({ keyArn: t.primaryArn, replica: 'nope' })).rejects.toMatchObject({
      code: 'INVALID_IDENTIFIER',
    });
    const n = await h.ds.query(`SELECT count(*)::int AS n FROM key_configurations WHERE tenant_id = $1`, [t.tenantId]);
    expect(n[0].n).toBe(1);
  });

  it('a replica ARN of the right form whose key was never replicated there fails validation (check replica_key)', async () => {
    const t = await mrkTenant();
    const lonely = (await h.kms.send(new CreateKeyCommand({ MultiRegion: true, Policy: policy(t.roleArn) })))
      .KeyMetadata!.Arn!;
    const kc = await new RegisterKeyConfiguration(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      input: {
        name: `lonely-${randomUUID().slice(0, 8)}`,
        provider: 'aws',
        aws: {
          keyArn: lonely,
          roleArn: t.roleArn,
          replica: { keyArn: lonely.replace(`:${h.aws.region}:`, `:${REPLICA_REGION}:`) },
        },
      },
    });
    expect(kc.status).toBe('invalid');
    expect(kc.validation.checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'replica_key', ok: false })]),
    );
  });
});

describe('failover', () => {
  it.each(['throttle', 'error', 'reset'] as const)(
    'primary region outage (%s): a cold DEK fetch is served through the replica, counted as a failover',
    async (kind) => {
      const t = await mrkTenant();
      const before = await deks(t, ['a', 'b']);
      failovers.length = 0;
      h.aws.faults.add({ cloud: 'aws', region: h.aws.region, kind });
      expect(await deks(t, ['a', 'b'])).toEqual(before);
      expect(failovers.length).toBeGreaterThanOrEqual(1);
      expect(failovers[0]).toMatchObject({
        provider: 'aws',
        operation: 'unwrap',
        fromClass: kind === 'throttle' ? 'throttled' : 'unavailable',
        tenantId: t.tenantId,
      });
    },
  );

  it('primary region hanging: every cold DEK fetch is served after the failover delay (about one request timeout)', async () => {
    const t = await mrkTenant();
    const before = await deks(t, ['a']);
    // An API replica whose AWS calls give up after 300 ms (3 attempts): the failover delay is what a hang costs.
    const observer = new ProviderCallObserver();
    let failed = 0;
    observer.onFailover(() => failed++);
    const quick = ProviderRegistry.fromEnv(
      { ...h.config.providerEnv, KEYHOLD_AWS_REQUEST_TIMEOUT_MS: '300' },
      observer,
    );
    try {
      h.aws.faults.add({ cloud: 'aws', region: h.aws.region, kind: 'hang' });
      const delays: number[] = [];
      for (let i = 0; i < 5; i++) {
        const cache = new KekCache({ ttlMs: 60_000, maxEntries: 1000 });
        const svc = new DekService(
          h.deps.repos,
          new KekResolver(h.deps.repos, quick, cache, { onRevocationSuspected: async () => undefined }, 1),
          {
            stateCacheTtlMs: 0,
            wrappedCacheEntries: 0,
            wrapReserveChunk: 100,
            batchMax: 1000,
          },
        );
        const started = Date.now();
        expect(await deks(t, ['a'], svc)).toEqual(before);
        delays.push(Date.now() - started);
      }
      expect(failed).toBe(5);
      // About one request timeout (measured 330-500 ms at 300 ms); never an error.
      expect(Math.max(...delays)).toBeLessThan(4 * 300 + 1_000);
    } finally {
      await quick.close();
    }
  });

  it('a permanent refusal of the primary is never failed over: the disabled primary refuses although the replica works', async () => {
    const t = await mrkTenant();
    await deks(t, ['a']);
    failovers.length = 0;
    await kmsIn(h.aws.region).send(new DisableKeyCommand({ KeyId: t.primaryArn }));
    await expect(deks(t, ['a'])).rejects.toMatchObject({
      code: 'KMS_UNAVAILABLE',
      message: expect.stringMatching(/key_disabled/),
    });
    expect(failovers).toHaveLength(0);
  });

  it.each(['primary', 'replica'] as const)(
    'a regional outage of the %s region for many probes never shreds, and DEKs keep being served',
    async (which) => {
      const region = () => (which === 'primary' ? h.aws.region : REPLICA_REGION);
      const t = await mrkTenant();
      const before = await deks(t, ['a']);
      h.aws.faults.add({ cloud: 'aws', region: region(), kind: 'error' });
      const started = Date.now();
      for (let i = 0; i < 4 || Date.now() - started < h.config.probe.confirmationWindowSeconds * 1000 + 500; i++) {
        const op = await checkUntilDone(h, t);
        expect(op.params.result).toMatchObject({ outcome: 'active' });
        expect(await h.workspace(t.tenantId, t.workspaceIds[0])).toMatchObject({ keyState: 'active' });
        expect(await deks(t, ['a'])).toEqual(before);
      }
      expect(await shreds(t)).toBe(0);
    },
  );
});

describe('revocation across both regions', () => {
  it('revoking the replica alone (its key policy) shreds; no form is kept, since the primary opens the same material', async () => {
    const t = await mrkTenant();
    await deks(t, ['a']);
    await kmsIn(REPLICA_REGION).send(
      new PutKeyPolicyCommand({ KeyId: t.replicaArn, PolicyName: 'default', Policy: policy(null) }),
    );
    // The DEK path's primary still answers; the probe decides across both.
    await expectShredded(h, t);
    for (const row of await storedForms(t)) expect(decodeForms(row.wrapped)).toEqual({});
    const audit = await h.ds.query(
      `SELECT details FROM audit_events WHERE tenant_id = $1 AND action = 'workspace.shredded'`,
      [t.tenantId],
    );
    expect(audit[0].details).toMatchObject({ revokedSides: ['replica'], formsDeleted: 2 });
    await expect(deks(t, ['a'])).rejects.toMatchObject({ code: 'WORKSPACE_SHREDDED' });
  });

  it('revoking the primary alone (disabled) shreds although the replica still answers; no form is kept', async () => {
    const t = await mrkTenant();
    await deks(t, ['a']);
    await kmsIn(h.aws.region).send(new DisableKeyCommand({ KeyId: t.primaryArn }));
    await expectShredded(h, t);
    for (const row of await storedForms(t)) expect(decodeForms(row.wrapped)).toEqual({});
    const audit = await h.ds.query(
      `SELECT details FROM audit_events WHERE tenant_id = $1 AND action = 'workspace.shredded'`,
      [t.tenantId],
    );
    expect(audit[0].details).toMatchObject({ revokedSides: ['primary'] });
  });
});

describe('operations', () => {
  it('a CMK rewrap and a KEK rotation rewrite both forms (each opens in its own region), and DEKs keep their bytes', async () => {
    const t = await mrkTenant();
    const before = await deks(t, ['a', 'b']);
    const [first] = await storedForms(t);
    for (const kind of [OperationKind.CmkRewrap, OperationKind.KekRotation]) {
      const op = await h.waitForOperation(t.tenantId, await h.request(t.tenantId, t.workspaceIds[0], kind), 30_000);
      expect(op.state).toBe('succeeded');
    }
    const rows = await storedForms(t);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) {
      expect(row.wrapped.equals(first.wrapped)).toBe(false);
      const forms = decodeForms(row.wrapped);
      const ctx = contextToMap(
        kekWrapContext({
          tenantId: t.tenantId,
          workspaceId: t.workspaceIds[0],
          keyConfigurationId: t.keyConfigurationId,
          kekVersion: row.version,
        }),
      );
      await kmsIn(h.aws.region).send(
        new DecryptCommand({ KeyId: t.primaryArn, CiphertextBlob: forms.primary!.ciphertext, EncryptionContext: ctx }),
      );
      await kmsIn(REPLICA_REGION).send(
        new DecryptCommand({ KeyId: t.replicaArn, CiphertextBlob: forms.replica!.ciphertext, EncryptionContext: ctx }),
      );
    }
    expect(await deks(t, ['a', 'b'])).toEqual(before);
    // And the new forms fail over like the first ones.
    h.aws.faults.add({ cloud: 'aws', region: h.aws.region, kind: 'error' });
    expect(await deks(t, ['a', 'b'])).toEqual(before);
  });
});

describe('residue', () => {
  it('a re-key to another key leaves no stored form that the old primary or its replica opens', async () => {
    const t = await mrkTenant();
    const before = await deks(t, ['a']);
    const [old] = await storedForms(t);
    const plain = (await h.kms.send(new CreateKeyCommand({ Policy: policy(t.roleArn) }))).KeyMetadata!.Arn!;
    const target = await new RegisterKeyConfiguration(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      input: {
        name: `plain-${randomUUID().slice(0, 8)}`,
        provider: 'aws',
        aws: { keyArn: plain, roleArn: t.roleArn },
      },
    });
    const bound = await new BindWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      workspaceId: t.workspaceIds[0],
      keyConfigurationId: target.id,
    });
    if (bound.kind !== 'rekey') throw new Error(`expected a re-key, got ${bound.kind}`);
    expect((await h.waitForOperation(t.tenantId, bound.operationId, 30_000)).state).toBe('succeeded');
    expect(await deks(t, ['a'])).toEqual(before);

    // Every byte value any KEK row of the workspace holds (and each form inside an envelope), tried as the customer
    // under the old keys in both regions with every plausible context: none opens.
    const stored = await h.ds.query<
      Array<{ version: number; wrapped: Buffer | null; previous_wrapped: Buffer | null }>
    >(`SELECT version, wrapped, previous_wrapped FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2`, [
      t.tenantId,
      t.workspaceIds[0],
    ]);
    expect(stored.every((r) => r.previous_wrapped === null)).toBe(true);
    const candidates: Buffer[] = [];
    for (const r of stored)
      for (const b of [r.wrapped, r.previous_wrapped])
        if (b) {
          candidates.push(b);
          for (const f of Object.values(decodeForms(b))) if (f) candidates.push(f.ciphertext);
        }
    expect(candidates.some((c) => c.equals(old.wrapped))).toBe(false);
    let opened = 0;
    for (const c of candidates)
      for (const [region, keyId] of [
        [h.aws.region, t.primaryArn],
        [REPLICA_REGION, t.replicaArn],
      ])
        for (const cfgId of [t.keyConfigurationId, target.id]) {
          const ctx = contextToMap(
            kekWrapContext({
              tenantId: t.tenantId,
              workspaceId: t.workspaceIds[0],
              keyConfigurationId: cfgId,
              kekVersion: old.version,
            }),
          );
          try {
            await kmsIn(region).send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: c, EncryptionContext: ctx }));
            opened++;
          } catch {
            // refused: what we want
          }
        }
    expect(opened).toBe(0);
  });
});
