import { randomBytes, randomUUID } from 'node:crypto';
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
import { decodeForms, FailoverEvent, ProviderCallObserver } from '@app/provider-port';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { checkUntilDone, expectShredded, reinstate } from './assertions';
import { gcpOwner, GCP_CUSTOMER_LOCATION, setKeyPolicy } from './gcp-tenant';

/**
 * KMS-region redundancy on GCP (docs/ARCHITECTURE.md, "Replica keys"): the replica is a different key in a second
 * location, so the KEK is wrapped under each independently, and a shred keeps exactly the form of the key that was
 * revoked (the other key still trusts Keyhold, so its form goes). Real SDK, emulator faults per location.
 */
const REPLICA_LOCATION = 'projects/customer-proj/locations/us-central1';
let h: JobsHarness;
let worker: RunningWorker;
let registry: ProviderRegistry;
const failovers: FailoverEvent[] = [];

beforeAll(async () => {
  h = await startJobsHarness({ clouds: ['gcp'], probeConfirmationWindowSeconds: 2, probeConfirmations: 3 });
  worker = await startTestWorker(h.config, { settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2 } });
  const observer = new ProviderCallObserver();
  observer.onFailover((e) => failovers.push(e));
  registry = ProviderRegistry.fromEnv(h.config.providerEnv, observer);
});
afterEach(() => h.gcp!.faults.clear());
afterAll(async () => {
  await registry?.close();
  await worker?.close();
  await h?.close();
});

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

interface Tenant {
  tenantId: string;
  principalId: string;
  workspaceIds: string[];
  serviceAccount: string;
  primary: string;
  replica: string;
}

async function keyIn(location: string): Promise<string> {
  const owner = gcpOwner(h);
  const [ring] = await owner.createKeyRing({
    parent: location,
    keyRingId: `ring-${randomBytes(5).toString('hex')}`,
    keyRing: {},
  });
  const [key] = await owner.createCryptoKey({
    parent: ring.name!,
    cryptoKeyId: 'kek',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
  });
  return key.name!;
}

async function replicaTenant(): Promise<Tenant> {
  const tenant = await h.createTenant('gcp-region');
  const serviceAccount = (tenant as unknown as { gcp?: { serviceAccount?: string } | null }).gcp?.serviceAccount;
  if (!serviceAccount) throw new Error('no service account');
  const primary = await keyIn(GCP_CUSTOMER_LOCATION);
  const replica = await keyIn(REPLICA_LOCATION);
  await setKeyPolicy(h, primary, serviceAccount, true);
  await setKeyPolicy(h, replica, serviceAccount, true);
  const kc = await new RegisterKeyConfiguration(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: `gcp-${randomUUID().slice(0, 8)}`,
      provider: 'gcp',
      gcp: { keyName: primary, serviceAccount, replica: { keyName: replica } },
    },
  });
  expect(kc.status).toBe('valid');
  const ws = await new CreateWorkspace(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: { name: 'ws' },
  });
  expect(
    (
      await new BindWorkspace(h.deps).execute({
        actor: 'admin:test',
        tenantId: tenant.id,
        workspaceId: ws.id,
        keyConfigurationId: kc.id,
      })
    ).kind,
  ).toBe('bound');
  const sp = await new CreateServicePrincipal(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: 'region',
      workspaceIds: [ws.id],
    },
  });
  return { tenantId: tenant.id, principalId: sp.id, workspaceIds: [ws.id], serviceAccount, primary, replica };
}

const deks = (t: Tenant, segments: string[]) => h.fetchDeks(t, t.workspaceIds[0], segments, coldService());
const keptSides = async (t: Tenant) => {
  const rows = await h.ds.query<
    Array<{
      wrapped: Buffer;
    }>
  >(`SELECT wrapped FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND state <> 'retired'`, [
    t.tenantId,
    t.workspaceIds[0],
  ]);
  return rows.map((r) => Object.keys(decodeForms(r.wrapped)).sort());
};

it('a replica in the same location is refused (400)', async () => {
  const t = await replicaTenant();
  const same = await keyIn(GCP_CUSTOMER_LOCATION);
  await expect(
    new RegisterKeyConfiguration(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      input: {
        name: `same-${randomUUID().slice(0, 8)}`,
        provider: 'gcp',
        gcp: { keyName: t.primary, serviceAccount: t.serviceAccount, replica: { keyName: same } },
      },
    }),
  ).rejects.toMatchObject({ code: 'INVALID_IDENTIFIER', message: expect.stringMatching(/another location/) });
});

it('an outage of the primary location: cold DEKs served through the replica, probes never shred', async () => {
  const t = await replicaTenant();
  expect(await keptSides(t)).toEqual([['primary', 'replica']]);
  const before = await deks(t, ['a', 'b']);
  failovers.length = 0;
  h.gcp!.faults.add({ cloud: 'gcp', region: 'europe-west1', kind: 'error' });
  expect(await deks(t, ['a', 'b'])).toEqual(before);
  expect(failovers[0]).toMatchObject({ provider: 'gcp', operation: 'unwrap', fromClass: 'unavailable' });
  const started = Date.now();
  for (let i = 0; i < 4 || Date.now() - started < h.config.probe.confirmationWindowSeconds * 1000 + 500; i++) {
    expect((await checkUntilDone(h, t)).params.result).toMatchObject({ outcome: 'active' });
  }
  expect(await h.workspace(t.tenantId, t.workspaceIds[0])).toMatchObject({ keyState: 'active' });
});

it('revoking the replica alone shreds and keeps only the replica form; re-granting it and a reinstate bring the workspace back', async () => {
  const t = await replicaTenant();
  const before = await deks(t, ['a']);
  await setKeyPolicy(h, t.replica, t.serviceAccount, false);
  await expectShredded(h, t);
  expect(await keptSides(t)).toEqual([['replica']]);
  // Only the revoked key opens what is left: the customer alone can bring it back.
  await setKeyPolicy(h, t.replica, t.serviceAccount, true);
  expect((await reinstate(h, t)).state).toBe('succeeded');
  expect(await deks(t, ['a'])).toEqual(before);
});

it('revoking the primary alone shreds although the replica answers, and keeps only the primary form', async () => {
  const t = await replicaTenant();
  await deks(t, ['a']);
  await setKeyPolicy(h, t.primary, t.serviceAccount, false);
  await expectShredded(h, t);
  expect(await keptSides(t)).toEqual([['primary']]);
});
