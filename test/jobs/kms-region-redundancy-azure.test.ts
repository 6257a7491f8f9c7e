import { randomBytes, randomUUID } from 'node:crypto';
import {
  BindWorkspace,
  CreateServicePrincipal,
  CreateWorkspace,
  DekService,
  KekResolver,
  KeysDeps,
  ProviderRegistry,
  RegisterKeyConfiguration,
} from '@app/keys';
import { KekCache } from '@app/kek-cache';
import { decodeForms, FailoverEvent, ProviderCallObserver } from '@app/provider-port';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { expectShredded } from './assertions';
import { tagAzureKey } from './azure-tenant';

/**
 * KMS-region redundancy on Azure (docs/ARCHITECTURE.md, "Replica keys"): the replica is a key in a paired vault of
 * the same Entra tenant, wrapped independently. The emulator answers every vault host name it is reached by, and
 * its faults target one vault by host: the primary vault down, the paired one answering.
 */
const PAIRED_HOST = 'keyhold-paired.vault.localhost';
let h: JobsHarness;
let worker: RunningWorker;
let registry: ProviderRegistry;
let deps: KeysDeps;
let primaryHost: string;
const failovers: FailoverEvent[] = [];

beforeAll(async () => {
  h = await startJobsHarness({ clouds: ['azure'], probeConfirmationWindowSeconds: 2, probeConfirmations: 3 });
  const vault = new URL(h.azure!.vaultUrl);
  primaryHost = vault.hostname;
  // The paired vault's host name is mapped to the emulator like the first one (dev/test only).
  const providerEnv = {
    ...h.config.providerEnv,
    KEYHOLD_AZURE_EMULATOR_HOSTS: `${vault.hostname}:${vault.port}=127.0.0.1,${PAIRED_HOST}:${vault.port}=127.0.0.1`,
  };
  const observer = new ProviderCallObserver();
  observer.onFailover((e) => failovers.push(e));
  registry = ProviderRegistry.fromEnv(providerEnv, observer);
  deps = { ...h.deps, registry };
  worker = await startTestWorker(
    { ...h.config, providerEnv },
    { settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2 } },
  );
});
afterEach(() => h.azure!.faults.clear());
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

async function customerKey(tenantId: string): Promise<string> {
  const keyName = `kh-${randomBytes(8).toString('hex')}`;
  expect((await h.azure!.admin('POST', '/azure/keys', { name: keyName })).status).toBe(201);
  await h.azure!.grantVendor(keyName);
  await tagAzureKey(h, tenantId, keyName);
  return keyName;
}

async function pairedTenant() {
  const tenant = await h.createTenant('azure-region');
  const primary = await customerKey(tenant.id);
  const replica = await customerKey(tenant.id);
  const vault = new URL(h.azure!.vaultUrl);
  const kc = await new RegisterKeyConfiguration(deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: `az-${randomUUID().slice(0, 8)}`,
      provider: 'azure',
      azure: {
        keyId: `${h.azure!.vaultUrl}/keys/${primary}`,
        tenantId: h.azure!.tenantId,
        replica: { keyId: `https://${PAIRED_HOST}:${vault.port}/keys/${replica}` },
      },
    },
  });
  if (kc.status !== 'valid') throw new Error(JSON.stringify(kc.validation));
  const ws = await new CreateWorkspace(deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: { name: 'ws' },
  });
  expect(
    (
      await new BindWorkspace(deps).execute({
        actor: 'admin:test',
        tenantId: tenant.id,
        workspaceId: ws.id,
        keyConfigurationId: kc.id,
      })
    ).kind,
  ).toBe('bound');
  const sp = await new CreateServicePrincipal(deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: 'region',
      workspaceIds: [ws.id],
    },
  });
  return { tenantId: tenant.id, principalId: sp.id, workspaceIds: [ws.id], primary, replica };
}

const keptSides = async (t: { tenantId: string; workspaceIds: string[] }) =>
  (
    await h.ds.query<Array<{ wrapped: Buffer }>>(
      `SELECT wrapped FROM kek_versions WHERE tenant_id = $1 AND workspace_id = $2 AND state <> 'retired'`,
      [t.tenantId, t.workspaceIds[0]],
    )
  ).map((r) => Object.keys(decodeForms(r.wrapped)).sort());

it('the primary vault down: cold DEKs are served through the paired vault', async () => {
  const t = await pairedTenant();
  expect(await keptSides(t)).toEqual([['primary', 'replica']]);
  const before = await h.fetchDeks(t, t.workspaceIds[0], ['a'], coldService());
  failovers.length = 0;
  h.azure!.faults.add({ cloud: 'azure', region: primaryHost, kind: 'error' });
  expect(await h.fetchDeks(t, t.workspaceIds[0], ['a'], coldService())).toEqual(before);
  expect(failovers[0]).toMatchObject({ provider: 'azure', operation: 'unwrap', fromClass: 'unavailable' });
});

it('revoking Keyhold on the paired vault key alone shreds, keeping only its form', async () => {
  const t = await pairedTenant();
  await h.fetchDeks(t, t.workspaceIds[0], ['a'], coldService());
  await h.azure!.revokeVendor(t.replica);
  await expectShredded(h, t);
  expect(await keptSides(t)).toEqual([['replica']]);
});
