import { randomBytes } from 'node:crypto';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import {
  type GcpKeyConfig,
  InvalidIdentifierError,
  type ProviderCallEvent,
  ProviderCallObserver,
  ProviderError,
  runValidation,
  type WrapContext,
} from '@app/provider-port';
import {
  createGcpProvider,
  type GcpKmsProvider,
  type GcpProviderSettings,
  parseGcpKeyConfigInput,
  serviceAccountForTenant,
} from '@app/provider-gcp';
import { startGcpEmulator, type GcpEmulatorHarness } from '../support/gcp-emulator';

/**
 * The GCP binding against the in-process Cloud KMS + IAM Credentials emulator, through the real
 * @google-cloud/kms gRPC client and google-auth-library's Impersonated client. Every error class comes from a
 * real emulator condition (IAM policy, version state, injected fault), never from a stub.
 */

const LOCATION = 'projects/customer-proj/locations/europe-west1';
type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];

let h: GcpEmulatorHarness;
let owner: KeyManagementServiceClient;
const providers: GcpKmsProvider[] = [];
const events: ProviderCallEvent[] = [];
const observer = new ProviderCallObserver();
observer.subscribe((e) => events.push(e));

beforeAll(async () => {
  h = await startGcpEmulator();
  owner = h.ownerKms();
});
afterAll(async () => {
  for (const p of providers) await p.close();
  await h.close();
});
afterEach(() => h.faults.clear());

function settings(over: Partial<GcpProviderSettings> = {}): GcpProviderSettings {
  return {
    kmsEndpoint: h.endpoints.kms,
    iamCredentialsEndpoint: h.endpoints.iamCredentials,
    tlsCaPem: h.caPem,
    vendorAccessToken: h.vendorToken,
    vendorProject: h.vendorProject,
    requestTimeoutMs: 2000,
    maxRetries: 1,
    ...over,
  };
}

function provider(over: Partial<GcpProviderSettings> = {}): GcpKmsProvider {
  const p = createGcpProvider(settings(over), observer);
  providers.push(p);
  return p;
}

function setPolicy(resource: string, bindings: Array<{ role: string; members: string[] }>) {
  return owner.setIamPolicy({ resource, policy: { bindings } } as unknown as SetIamPolicyArg);
}

let seq = 0;
/**
 * A tenant set up the way Keyhold's hint tells them: a key in the customer's project, the tenant's vendor service
 * account granted Encrypter/Decrypter and Viewer on the key (or on the key ring with `grantOn: 'ring'`).
 */
async function tenant(
  opts: { grant?: boolean; grantOn?: 'key' | 'ring'; purpose?: 'ENCRYPT_DECRYPT' | 'ASYMMETRIC_SIGN' } = {},
) {
  const tenantId = `tenant-${randomBytes(6).toString('hex')}`;
  const sa = serviceAccountForTenant(settings(), tenantId);
  const [ring] = await owner.createKeyRing({
    parent: LOCATION,
    keyRingId: `ring-${++seq}-${randomBytes(3).toString('hex')}`,
    keyRing: {},
  });
  const purpose = opts.purpose ?? 'ENCRYPT_DECRYPT';
  const [key] = await owner.createCryptoKey({
    parent: ring.name!,
    cryptoKeyId: 'kek',
    cryptoKey: {
      purpose,
      versionTemplate: purpose === 'ASYMMETRIC_SIGN' ? { algorithm: 'EC_SIGN_P256_SHA256' } : undefined,
    },
  });
  const bindings = [
    { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [`serviceAccount:${sa}`] },
    { role: 'roles/cloudkms.viewer', members: [`serviceAccount:${sa}`] },
  ];
  if (opts.grant !== false) await setPolicy(opts.grantOn === 'ring' ? ring.name! : key.name!, bindings);
  const config = parseGcpKeyConfigInput({ keyName: key.name, serviceAccount: sa }, sa);
  const ctx: WrapContext = {
    tenantId,
    workspaceId: 'ws-1',
    keyConfigurationId: 'kc-1',
    kekVersion: 1,
    purpose: 'workspace-kek',
  };
  return {
    tenantId,
    sa,
    ring: ring.name!,
    key: key.name!,
    config,
    ctx,
    p: provider(),
    scope: { tenantId, keyConfigurationId: 'kc-1' },
  };
}

async function errorClassOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    return err.errorClass;
  }
}

const disable = (version: string) =>
  owner.updateCryptoKeyVersion({
    cryptoKeyVersion: { name: version, state: 'DISABLED' },
    updateMask: { paths: ['state'] },
  });

describe('GCP provider against the Cloud KMS emulator', () => {
  it('wraps and unwraps with the bound context, reporting the version used; CRC32C checked both ways', async () => {
    const t = await tenant();
    const kek = randomBytes(32);
    const wrapped = await t.p.wrap(t.config, kek, t.ctx);
    expect(wrapped.keyVersion).toBe(`${t.key}/cryptoKeyVersions/1`);
    expect(wrapped.ciphertext.includes(kek)).toBe(false);
    const back = await t.p.unwrap(t.config, wrapped, t.ctx);
    expect(back.equals(kek)).toBe(true);

    const d = await t.p.describe(t.config, t.scope);
    expect(d).toMatchObject({
      keyId: t.key,
      state: 'enabled',
      usage: 'ENCRYPT_DECRYPT',
      usageOk: true,
      currentVersion: `${t.key}/cryptoKeyVersions/1`,
    });

    // Every call went through the observer, named by operation and key, never carrying key bytes.
    const mine = events.filter((e) => e.tenantId === t.tenantId);
    expect(mine.map((e) => `${e.operation}:${e.outcome}`)).toEqual(['wrap:ok', 'unwrap:ok', 'describe:ok']);
    expect(JSON.stringify(mine)).not.toContain(kek.toString('base64'));
    // The calls reached the emulator as the tenant's service account (impersonated), not as the vendor.
    expect(
      h.counters.total({ cloud: 'gcp', operation: 'Encrypt', principal: `serviceAccount:${t.sa}`, outcome: 'ok' }),
    ).toBe(1);
  });

  it('refuses to unwrap under another context (invalid_ciphertext), and a corrupted ciphertext likewise', async () => {
    const t = await tenant();
    const wrapped = await t.p.wrap(t.config, randomBytes(32), t.ctx);
    expect(await errorClassOf(t.p.unwrap(t.config, wrapped, { ...t.ctx, workspaceId: 'ws-2' }))).toBe(
      'invalid_ciphertext',
    );
    expect(await errorClassOf(t.p.unwrap(t.config, wrapped, { ...t.ctx, tenantId: 'someone-else' }))).toBe(
      'invalid_ciphertext',
    );
    const bad = Buffer.from(wrapped.ciphertext);
    bad[bad.length - 1] ^= 1;
    expect(await errorClassOf(t.p.unwrap(t.config, { ...wrapped, ciphertext: bad }, t.ctx))).toBe('invalid_ciphertext');
  });

  it('access_denied once the IAM binding is removed (evaluated on the next call, cached token or not)', async () => {
    const t = await tenant();
    const wrapped = await t.p.wrap(t.config, randomBytes(32), t.ctx);
    await setPolicy(t.key, []);
    expect(await errorClassOf(t.p.wrap(t.config, randomBytes(32), t.ctx))).toBe('access_denied');
    expect(await errorClassOf(t.p.unwrap(t.config, wrapped, t.ctx))).toBe('access_denied');
    expect(await errorClassOf(t.p.describe(t.config, t.scope))).toBe('access_denied');
  });

  it('key_disabled, key_pending_deletion and key_destroyed follow the primary version state', async () => {
    const t = await tenant();
    const v1 = `${t.key}/cryptoKeyVersions/1`;
    const wrapped = await t.p.wrap(t.config, randomBytes(32), t.ctx);

    await disable(v1);
    expect(await errorClassOf(t.p.wrap(t.config, randomBytes(32), t.ctx))).toBe('key_disabled');
    expect(await errorClassOf(t.p.unwrap(t.config, wrapped, t.ctx))).toBe('key_disabled');
    expect((await t.p.describe(t.config, t.scope)).state).toBe('disabled');

    await owner.destroyCryptoKeyVersion({ name: v1 });
    expect(await errorClassOf(t.p.wrap(t.config, randomBytes(32), t.ctx))).toBe('key_pending_deletion');
    expect(await errorClassOf(t.p.unwrap(t.config, wrapped, t.ctx))).toBe('key_pending_deletion');
    expect((await t.p.describe(t.config, t.scope)).state).toBe('pending_deletion');

    expect((await h.admin('POST', '/gcp/versions/destroy-now', { name: v1 })).status).toBe(200);
    expect(await errorClassOf(t.p.unwrap(t.config, wrapped, t.ctx))).toBe('key_destroyed');
    expect((await t.p.describe(t.config, t.scope)).state).toBe('destroyed');
  });

  it('a purpose mismatch (Cloud KMS FAILED_PRECONDITION "incorrect key purpose") is invalid_key_usage on wrap and unwrap, never a revocation class', async () => {
    const good = await tenant();
    const wrapped = await good.p.wrap(good.config, randomBytes(32), good.ctx);
    const sign = await tenant({ purpose: 'ASYMMETRIC_SIGN' });
    expect(await errorClassOf(sign.p.wrap(sign.config, randomBytes(32), sign.ctx))).toBe('invalid_key_usage');
    expect(await errorClassOf(sign.p.unwrap(sign.config, { ...wrapped, keyVersion: null }, sign.ctx))).toBe(
      'invalid_key_usage',
    );
  });

  it('a project-level binding grants what a key binding does; a conditional binding past its request.time is access_denied', async () => {
    const t = await tenant({ grant: false });
    expect(await errorClassOf(t.p.wrap(t.config, randomBytes(32), t.ctx))).toBe('access_denied');
    const project = /^projects\/([^/]+)\//.exec(t.key)![1];
    const member = `serviceAccount:${t.sa}`;
    expect(
      (
        await h.admin('PUT', '/gcp/projects/iam', {
          project,
          bindings: [
            { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [member] },
            { role: 'roles/cloudkms.viewer', members: [member] },
          ],
        })
      ).status,
    ).toBe(200);
    const wrapped = await t.p.wrap(t.config, randomBytes(32), t.ctx);
    const until = new Date(Date.now() + 1000).toISOString();
    const cond = { title: 'until', expression: `request.time < timestamp("${until}")` };
    await h.admin('PUT', '/gcp/projects/iam', {
      project,
      version: 3,
      bindings: [
        { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [member], condition: cond },
        { role: 'roles/cloudkms.viewer', members: [member], condition: cond },
      ],
    });
    expect((await t.p.unwrap(t.config, wrapped, t.ctx)).length).toBe(32);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await errorClassOf(t.p.unwrap(t.config, wrapped, t.ctx))).toBe('access_denied');
    await h.admin('PUT', '/gcp/projects/iam', { project, bindings: [] });
  });

  it('key_not_found for a key that does not exist where the service account may look', async () => {
    // Granted on the key ring: a missing key in it is NOT_FOUND (without any grant Cloud KMS says PERMISSION_DENIED).
    const t = await tenant({ grantOn: 'ring' });
    const missing: GcpKeyConfig = { ...t.config, keyName: `${t.ring}/cryptoKeys/nope` };
    expect(await errorClassOf(t.p.wrap(missing, randomBytes(32), t.ctx))).toBe('key_not_found');
    expect(await errorClassOf(t.p.describe(missing, t.scope))).toBe('key_not_found');
    // The ring grant is inherited by the real key.
    expect((await t.p.wrap(t.config, randomBytes(32), t.ctx)).keyVersion).toBe(`${t.key}/cryptoKeyVersions/1`);
  });

  it('throttled on RESOURCE_EXHAUSTED (not retried), unavailable on UNAVAILABLE after bounded retries', async () => {
    const t = await tenant();
    await t.p.wrap(t.config, randomBytes(32), t.ctx); // warm the token and channel
    h.counters.reset();
    h.faults.add({ cloud: 'gcp', operation: 'Encrypt', keyId: t.key, kind: 'throttle' });
    expect(await errorClassOf(t.p.wrap(t.config, randomBytes(32), t.ctx))).toBe('throttled');
    expect(h.counters.total({ cloud: 'gcp', operation: 'Encrypt', outcome: 'RESOURCE_EXHAUSTED' })).toBe(1);

    h.faults.clear();
    h.faults.add({ cloud: 'gcp', operation: 'Encrypt', keyId: t.key, kind: 'error' });
    const started = Date.now();
    expect(await errorClassOf(t.p.wrap(t.config, randomBytes(32), t.ctx))).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(2000);
    // maxRetries: 1 → exactly two attempts reached the service.
    expect(h.counters.total({ cloud: 'gcp', operation: 'Encrypt', outcome: 'UNAVAILABLE' })).toBe(2);

    // One transient failure is absorbed by the retry.
    h.faults.clear();
    h.faults.add({ cloud: 'gcp', operation: 'Encrypt', keyId: t.key, kind: 'error', count: 1 });
    expect((await t.p.wrap(t.config, randomBytes(32), t.ctx)).keyVersion).toBe(`${t.key}/cryptoKeyVersions/1`);
  });

  it('unavailable when the service hangs past the request deadline', async () => {
    const t = await tenant();
    const p = provider({ requestTimeoutMs: 400, maxRetries: 0 });
    await p.wrap(t.config, randomBytes(32), t.ctx);
    h.faults.add({ cloud: 'gcp', operation: 'Encrypt', keyId: t.key, kind: 'hang' });
    const started = Date.now();
    expect(await errorClassOf(p.wrap(t.config, randomBytes(32), t.ctx))).toBe('unavailable');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(2000);
  });

  it('unavailable when the IAM Credentials API fails; auth_misconfigured when it refuses the vendor', async () => {
    // Token requests are bounded by the call's deadline even though google-auth-library retries them itself.
    const t = await tenant();
    const fast = provider({ requestTimeoutMs: 500, maxRetries: 0 });
    h.faults.add({ cloud: 'gcp', operation: 'generateAccessToken', kind: 'error' });
    let started = Date.now();
    expect(await errorClassOf(fast.wrap(t.config, randomBytes(32), t.ctx))).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(1500);
    h.faults.clear();
    h.faults.add({ cloud: 'gcp', operation: 'generateAccessToken', kind: 'hang' });
    started = Date.now();
    expect(
      await errorClassOf(provider({ requestTimeoutMs: 400, maxRetries: 0 }).wrap(t.config, randomBytes(32), t.ctx)),
    ).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(1500);
    h.faults.clear();
    // Once the API answers again, the same provider recovers.
    expect((await t.p.wrap(t.config, randomBytes(32), t.ctx)).keyVersion).toBe(`${t.key}/cryptoKeyVersions/1`);

    const u = await tenant();
    await h.admin('POST', '/gcp/service-accounts/disable', { email: u.sa });
    try {
      expect(await errorClassOf(u.p.wrap(u.config, randomBytes(32), u.ctx))).toBe('auth_misconfigured');
    } finally {
      await h.admin('POST', '/gcp/service-accounts/enable', { email: u.sa });
    }

    // A vendor token the service does not accept is Keyhold's misconfiguration, not the customer's revocation.
    const v = await tenant();
    const wrongVendor = provider({ vendorAccessToken: 'not-the-vendor-token' });
    expect(await errorClassOf(wrongVendor.wrap(v.config, randomBytes(32), v.ctx))).toBe('auth_misconfigured');
  });

  it('tracks versions: a new primary is reported by wrap, and a KEK wrapped under the old one still unwraps', async () => {
    const t = await tenant();
    const kek1 = randomBytes(32);
    const w1 = await t.p.wrap(t.config, kek1, t.ctx);
    expect(w1.keyVersion).toBe(`${t.key}/cryptoKeyVersions/1`);

    await owner.createCryptoKeyVersion({ parent: t.key, cryptoKeyVersion: {} });
    await owner.updateCryptoKeyPrimaryVersion({ name: t.key, cryptoKeyVersionId: '2' });
    const kek2 = randomBytes(32);
    const w2 = await t.p.wrap(t.config, kek2, t.ctx);
    expect(w2.keyVersion).toBe(`${t.key}/cryptoKeyVersions/2`);
    expect((await t.p.describe(t.config, t.scope)).currentVersion).toBe(`${t.key}/cryptoKeyVersions/2`);

    expect((await t.p.unwrap(t.config, w1, t.ctx)).equals(kek1)).toBe(true);
    expect((await t.p.unwrap(t.config, w2, t.ctx)).equals(kek2)).toBe(true);
  });

  it("rejects another tenant's service account and malformed key names at parse time", async () => {
    const mine = serviceAccountForTenant(settings(), 'tenant-a');
    const theirs = serviceAccountForTenant(settings(), 'tenant-b');
    expect(mine).not.toBe(theirs);
    const keyName = `${LOCATION}/keyRings/r/cryptoKeys/k`;
    expect(() => parseGcpKeyConfigInput({ keyName, serviceAccount: theirs }, mine)).toThrow(InvalidIdentifierError);
    expect(() => parseGcpKeyConfigInput({ keyName, serviceAccount: theirs }, mine)).toThrow(
      /this tenant's Keyhold service account/,
    );
    expect(() =>
      parseGcpKeyConfigInput({ keyName: `${keyName}/cryptoKeyVersions/1`, serviceAccount: mine }, mine),
    ).toThrow(/not a CryptoKeyVersion/);
    expect(parseGcpKeyConfigInput({ keyName, serviceAccount: mine }, mine)).toEqual({
      provider: 'gcp',
      keyName,
      serviceAccount: mine,
    });
  });

  describe('runValidation', () => {
    const byName = (checks: Array<{ name: string; ok: boolean; message: string; errorClass?: string }>) =>
      Object.fromEntries(checks.map((c) => [c.name, c]));

    it('passes every check for a correctly granted key and pins the canonical name', async () => {
      const t = await tenant();
      const report = await runValidation(t.p, t.config, t.scope);
      expect(report.ok).toBe(true);
      expect(report.checks.map((c) => c.name)).toEqual([
        'identifier',
        'impersonation',
        'key_state',
        'key_usage',
        'round_trip',
        'context_binding',
      ]);
      expect(report.pinned).toEqual(t.config);
    });

    it('names the missing IAM binding with the exact gcloud commands', async () => {
      const t = await tenant({ grant: false });
      const report = await runValidation(t.p, t.config, t.scope);
      expect(report.ok).toBe(false);
      const c = byName(report.checks).key_access;
      expect(c).toMatchObject({ ok: false, errorClass: 'access_denied' });
      expect(c.message).toContain(`The service account ${t.sa} is not allowed to use ${t.key}`);
      expect(c.message).toContain(
        `gcloud kms keys add-iam-policy-binding kek --keyring ${t.ring.split('/').pop()} --location europe-west1 --project customer-proj --member serviceAccount:${t.sa} --role roles/cloudkms.cryptoKeyEncrypterDecrypter`,
      );
      expect(c.message).toContain('--role roles/cloudkms.viewer');
    });

    it('reports a disabled primary version, a key scheduled for destruction and a signing key', async () => {
      const d = await tenant();
      await disable(`${d.key}/cryptoKeyVersions/1`);
      let c = byName((await runValidation(d.p, d.config, d.scope)).checks).key_state;
      expect(c).toMatchObject({
        ok: false,
        message: 'The key is disabled. Enable it in your key management service, then validate again.',
      });

      const s = await tenant();
      await owner.destroyCryptoKeyVersion({ name: `${s.key}/cryptoKeyVersions/1` });
      c = byName((await runValidation(s.p, s.config, s.scope)).checks).key_state;
      expect(c.ok).toBe(false);
      expect(c.message).toMatch(/pending deletion/);

      const g = await tenant({ purpose: 'ASYMMETRIC_SIGN' });
      c = byName((await runValidation(g.p, g.config, g.scope)).checks).key_usage;
      expect(c.ok).toBe(false);
      expect(c.message).toContain('ASYMMETRIC_SIGN');
    });

    it('reports a missing key and a refused impersonation in words an admin can act on', async () => {
      const t = await tenant({ grantOn: 'ring' });
      const missing: GcpKeyConfig = { ...t.config, keyName: `${t.ring}/cryptoKeys/nope` };
      const c = byName((await runValidation(t.p, missing, t.scope)).checks).key_access;
      expect(c).toMatchObject({ ok: false, errorClass: 'key_not_found' });
      expect(c.message).toBe(
        `The key ${missing.keyName} was not found. Check the project, location, key ring and key name.`,
      );

      const u = await tenant();
      await h.admin('POST', '/gcp/service-accounts/disable', { email: u.sa });
      try {
        const report = await runValidation(u.p, u.config, u.scope);
        expect(report.ok).toBe(false);
        const i = byName(report.checks).impersonation;
        expect(i).toMatchObject({ ok: false, errorClass: 'auth_misconfigured' });
        expect(i.message).toContain(`Keyhold could not act as its service account ${u.sa}`);
        // Impersonation failing stops validation before any key call.
        expect(report.checks.map((x) => x.name)).toEqual(['identifier', 'impersonation']);
      } finally {
        await h.admin('POST', '/gcp/service-accounts/enable', { email: u.sa });
      }
    });
  });
});
