import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { JobMetrics, VendorCanary } from '@app/jobs';
import { OWNERSHIP_TAG } from '@app/provider-azure';
import { CANARY_TENANT, canaryTargets } from '../../apps/worker/src/vendor-canaries';
import { emulatorAdmin } from '../support/emulator-admin';
import { JobsHarness, startJobsHarness } from './harness';
import { gcpOwner, GCP_CUSTOMER_LOCATION, setKeyPolicy } from './gcp-tenant';

/**
 * The GCP and Azure vendor-owned canaries against the emulators. GCP: a Cloud KMS key the vendor owns, reached by
 * impersonating the canary's own service account (derived like every tenant's) with the vendor identity; failing when
 * the vendor's side breaks (that service account disabled in the vendor project). Azure: a key reached with the
 * vendor app's credential; failing when the key is disabled (Key Vault's 403 KeyDisabled on GET). The status is
 * recorded for /metrics and the operator.
 */
let h: JobsHarness;
beforeAll(async () => {
  h = await startJobsHarness({ clouds: ['gcp', 'azure'] });
});
afterAll(async () => h?.close());

it('probes the GCP canary through impersonation; a disabled vendor service account makes it fail (never a customer verdict)', async () => {
  const owner = gcpOwner(h);
  const [ring] = await owner.createKeyRing({
    parent: GCP_CUSTOMER_LOCATION,
    keyRingId: `canary-${randomBytes(4).toString('hex')}`,
    keyRing: {},
  });
  const [key] = await owner.createCryptoKey({
    parent: ring.name!,
    cryptoKeyId: 'canary',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
  });
  const [target] = canaryTargets({ ...h.config.providerEnv, KEYHOLD_GCP_CANARY_KEY: key.name! }, h.deps.registry);
  expect(target.provider).toBe('gcp');
  const serviceAccount = (target.config as unknown as { serviceAccount: string }).serviceAccount;
  expect(serviceAccount).toMatch(/@.*\.iam\.gserviceaccount\.com$/);
  await setKeyPolicy(h, key.name!, serviceAccount, true);

  const metrics = new JobMetrics(new Registry());
  const canary = new VendorCanary([target], h.deps.registry, h.deps.repos.vendorCanaries, metrics, () => undefined);
  const [ok] = await canary.sweep();
  expect(ok).toMatchObject({ provider: 'gcp', healthy: true });

  const admin = emulatorAdmin(h.gcp!.adminUrl);
  expect((await admin('POST', '/gcp/service-accounts/disable', { email: serviceAccount })).status).toBe(200);
  // The token the canary holds reaches its end of life; the next impersonation meets the disabled account.
  expect((await admin('POST', '/gcp/tokens/expire', { member: `serviceAccount:${serviceAccount}` })).status).toBe(200);
  try {
    const failed = await canary.resultSince('gcp', Date.now());
    expect(failed).toMatchObject({ provider: 'gcp', healthy: false });
    const [row] = await h.deps.repos.vendorCanaries.list().then((rows) => rows.filter((r) => r.provider === 'gcp'));
    expect(row).toMatchObject({ healthy: false, target: `${key.name} as ${serviceAccount}` });
    expect(row.unhealthySince).toBeInstanceOf(Date);
    expect(await metrics.registry.getSingleMetricAsString('keyhold_vendor_canary_healthy')).toMatch(
      /provider="gcp"\} 0/,
    );
  } finally {
    await admin('POST', '/gcp/service-accounts/enable', { email: serviceAccount });
  }
});

it('probes the Azure canary with the vendor app; a disabled canary key makes it fail', async () => {
  const az = h.azure!;
  const name = `canary-${randomBytes(4).toString('hex')}`;
  expect((await az.admin('POST', '/azure/keys', { name })).status).toBeLessThan(300);
  // like every key Keyhold uses on Azure, the canary carries the ownership tag (the canary's own fixed ExternalId)
  await az.customerKeys().updateKeyProperties(name, { tags: { [OWNERSHIP_TAG]: CANARY_TENANT.externalId } });
  await az.grantVendor(name);
  const keyId = `${az.vaultUrl}/keys/${name}`;
  const targets = canaryTargets(
    { ...h.config.providerEnv, KEYHOLD_AZURE_CANARY_KEY_ID: keyId, KEYHOLD_AZURE_CANARY_TENANT_ID: az.tenantId },
    h.deps.registry,
  );
  const target = targets.find((t) => t.provider === 'azure')!;
  expect(target.target).toBe(keyId);
  const canary = new VendorCanary(
    [target],
    h.deps.registry,
    h.deps.repos.vendorCanaries,
    new JobMetrics(new Registry()),
    () => undefined,
  );
  expect((await canary.sweep())[0]).toMatchObject({ provider: 'azure', healthy: true });
  expect((await az.admin('POST', `/azure/keys/${name}/enabled`, { enabled: false })).status).toBe(200);
  expect(await canary.resultSince('azure', Date.now())).toMatchObject({
    provider: 'azure',
    healthy: false,
    errorClass: 'key_disabled',
  });
});

it('refuses half-configured canaries at start-up, naming the variables', () => {
  expect(() =>
    canaryTargets(
      { ...h.config.providerEnv, KEYHOLD_AZURE_CANARY_KEY_ID: 'https://x.vault.azure.net/keys/k' },
      h.deps.registry,
    ),
  ).toThrow(/KEYHOLD_AZURE_CANARY_TENANT_ID/);
  expect(() =>
    canaryTargets(
      { ...h.config.providerEnv, KEYHOLD_AWS_CANARY_KEY_ARN: 'arn:aws:kms:us-east-1:111122223333:key/x' },
      h.deps.registry,
    ),
  ).toThrow(/KEYHOLD_AWS_CANARY_ROLE_ARN/);
  expect(canaryTargets(h.config.providerEnv, h.deps.registry)).toEqual([]);
});
