import { Agent } from 'node:https';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { Impersonated, OAuth2Client } from 'google-auth-library';
import { fetchOverAgent } from '@app/provider-gcp';
import { crc32c } from '../../apps/kms-emulator/src/gcp/crc32c';
import { startGcpEmulator, type GcpEmulatorHarness } from '../support/gcp-emulator';

// Calls that should fail fast: no gax retries, short deadline.
const NO_RETRY = {
  retry: {
    retryCodes: [] as number[],
    backoffSettings: {
      initialRetryDelayMillis: 10,
      retryDelayMultiplier: 1,
      maxRetryDelayMillis: 10,
      initialRpcTimeoutMillis: 3000,
      rpcTimeoutMultiplier: 1,
      maxRpcTimeoutMillis: 3000,
      totalTimeoutMillis: 3000,
    },
  },
};

const PROJECT = 'customer-proj';
const LOCATION = `projects/${PROJECT}/locations/europe-west1`;

let h: GcpEmulatorHarness;
let owner: KeyManagementServiceClient;

beforeAll(async () => {
  h = await startGcpEmulator();
  owner = h.ownerKms();
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.faults.clear();
  h.counters.reset();
});

let seq = 0;
async function newKey(opts: { purpose?: 'ENCRYPT_DECRYPT' | 'ASYMMETRIC_SIGN'; skip?: boolean } = {}) {
  const ringId = `ring-${++seq}`;
  const [ring] = await owner.createKeyRing({ parent: LOCATION, keyRingId: ringId, keyRing: {} });
  const purpose = opts.purpose ?? 'ENCRYPT_DECRYPT';
  const [key] = await owner.createCryptoKey({
    parent: ring.name!,
    cryptoKeyId: 'kek',
    cryptoKey: {
      purpose,
      versionTemplate: purpose === 'ASYMMETRIC_SIGN' ? { algorithm: 'EC_SIGN_P256_SHA256' } : undefined,
    },
    skipInitialVersionCreation: opts.skip ?? false,
  });
  return { ring: ring.name!, key: key.name! };
}

/** A token for a vendor-project service account, through the real google-auth-library Impersonated client. */
async function impersonate(email: string): Promise<string> {
  // An explicit fetch over an agent that trusts the emulator CA (gaxios would otherwise import node-fetch dynamically,
  // which jest's module loader refuses).
  const agent = new Agent({ ca: h.caPem });
  const transporterOptions = { agent, fetchImplementation: fetchOverAgent(agent) };
  const source = new OAuth2Client({ transporterOptions });
  source.setCredentials({ access_token: h.vendorToken, expiry_date: Date.now() + 3600_000 });
  const imp = new Impersonated({
    sourceClient: source,
    targetPrincipal: email,
    targetScopes: ['https://www.googleapis.com/auth/cloudkms'],
    lifetime: 600,
    endpoint: h.endpoints.iamCredentials,
    transporterOptions,
  });
  const { token } = await imp.getAccessToken();
  if (!token) throw new Error('no token');
  return token;
}

type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];
type GetIamPolicyArg = Parameters<KeyManagementServiceClient['getIamPolicy']>[0];

/** The IAM mixin's request types are generated classes (with toJSON); plain objects are what goes on the wire. */
function setPolicy(resource: string, bindings: Array<{ role: string; members: string[] }>) {
  return owner.setIamPolicy({ resource, policy: { bindings } } as unknown as SetIamPolicyArg);
}
function getPolicy(resource: string) {
  return owner.getIamPolicy({ resource } as unknown as GetIamPolicyArg);
}

function code(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => -1,
    (e: unknown) => (e as { code?: number }).code ?? -2,
  );
}

describe('GCP Cloud KMS emulator through @google-cloud/kms', () => {
  it('runs the key lifecycle: ring, key, versions, primary switch, disable, destroy/restore', async () => {
    const { ring, key } = await newKey();
    const [gotRing] = await owner.getKeyRing({ name: ring });
    expect(gotRing.name).toBe(ring);
    const [k] = await owner.getCryptoKey({ name: key });
    expect(k.purpose).toBe('ENCRYPT_DECRYPT');
    expect(k.primary?.name).toBe(`${key}/cryptoKeyVersions/1`);
    expect(k.primary?.state).toBe('ENABLED');
    expect(k.versionTemplate?.algorithm).toBe('GOOGLE_SYMMETRIC_ENCRYPTION');

    const [v2] = await owner.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
    expect(v2.name).toBe(`${key}/cryptoKeyVersions/2`);
    const [afterPrimary] = await owner.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: '2' });
    expect(afterPrimary.primary?.name).toBe(v2.name);
    const [versions] = await owner.listCryptoKeyVersions({ parent: key });
    expect(versions.map((v) => v.name)).toEqual([`${key}/cryptoKeyVersions/1`, v2.name]);

    const [disabled] = await owner.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: `${key}/cryptoKeyVersions/1`, state: 'DISABLED' },
      updateMask: { paths: ['state'] },
    });
    expect(disabled.state).toBe('DISABLED');
    const [scheduled] = await owner.destroyCryptoKeyVersion({ name: `${key}/cryptoKeyVersions/1` });
    expect(scheduled.state).toBe('DESTROY_SCHEDULED');
    expect(Number(scheduled.destroyTime?.seconds)).toBeGreaterThan(Date.now() / 1000 + 29 * 86400);
    const [restored] = await owner.restoreCryptoKeyVersion({ name: `${key}/cryptoKeyVersions/1` });
    expect(restored.state).toBe('DISABLED');
    // A disabled version cannot become primary.
    expect(await code(owner.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: '1' }, NO_RETRY))).toBe(9);
    expect(h.persistCalls()).toBeGreaterThan(0);
  });

  it('skips the initial version when asked, and refuses to encrypt without a primary', async () => {
    const { key } = await newKey({ skip: true });
    const [k] = await owner.getCryptoKey({ name: key });
    expect(k.primary).toBeNull();
    expect(await code(owner.encrypt({ name: key, plaintext: Buffer.from('x') }, NO_RETRY))).toBe(9);
  });

  it('round-trips with AAD and CRC32C both ways; the ciphertext names its version', async () => {
    const { key } = await newKey();
    const plaintext = Buffer.from('a 32-byte workspace kek material');
    const aad = Buffer.from('["keyhold:tenant","t1"]');
    const [enc] = await owner.encrypt({
      name: key,
      plaintext,
      additionalAuthenticatedData: aad,
      plaintextCrc32c: { value: crc32c(plaintext) },
      additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
    });
    expect(enc.name).toBe(`${key}/cryptoKeyVersions/1`);
    expect(enc.verifiedPlaintextCrc32c).toBe(true);
    expect(enc.verifiedAdditionalAuthenticatedDataCrc32c).toBe(true);
    expect(enc.protectionLevel).toBe('SOFTWARE');
    const ct = Buffer.from(enc.ciphertext as Uint8Array);
    expect(Number(enc.ciphertextCrc32c?.value)).toBe(crc32c(ct));
    expect(ct.includes(plaintext)).toBe(false);

    // After a primary switch, the old ciphertext still decrypts (the ciphertext identifies its version).
    await owner.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} });
    await owner.updateCryptoKeyPrimaryVersion({ name: key, cryptoKeyVersionId: '2' });
    const [dec] = await owner.decrypt({
      name: key,
      ciphertext: ct,
      additionalAuthenticatedData: aad,
      ciphertextCrc32c: { value: crc32c(ct) },
    });
    expect(Buffer.from(dec.plaintext as Uint8Array).equals(plaintext)).toBe(true);
    expect(Number(dec.plaintextCrc32c?.value)).toBe(crc32c(plaintext));
    expect(dec.usedPrimary).toBe(false);
    const [enc2] = await owner.encrypt({ name: key, plaintext });
    expect(enc2.name).toBe(`${key}/cryptoKeyVersions/2`);
    expect(enc2.verifiedPlaintextCrc32c).toBe(false);
  });

  it('rejects a wrong AAD, a corrupted ciphertext and a bad request checksum with INVALID_ARGUMENT', async () => {
    const { key } = await newKey();
    const [enc] = await owner.encrypt({
      name: key,
      plaintext: Buffer.from('secret'),
      additionalAuthenticatedData: Buffer.from('ctx-a'),
    });
    const ct = Buffer.from(enc.ciphertext as Uint8Array);
    const wrongAad = owner.decrypt(
      { name: key, ciphertext: ct, additionalAuthenticatedData: Buffer.from('ctx-b') },
      NO_RETRY,
    );
    await expect(wrongAad).rejects.toMatchObject({ code: 3, details: expect.stringContaining('Decryption failed') });
    const flipped = Buffer.from(ct);
    flipped[flipped.length - 1] ^= 1;
    expect(
      await code(
        owner.decrypt({ name: key, ciphertext: flipped, additionalAuthenticatedData: Buffer.from('ctx-a') }, NO_RETRY),
      ),
    ).toBe(3);
    expect(
      await code(
        owner.encrypt({ name: key, plaintext: Buffer.from('x'), plaintextCrc32c: { value: 12345 } }, NO_RETRY),
      ),
    ).toBe(3);
    // Another key's ciphertext does not decrypt under this key.
    const other = await newKey();
    expect(
      await code(
        owner.decrypt({ name: other.key, ciphertext: ct, additionalAuthenticatedData: Buffer.from('ctx-a') }, NO_RETRY),
      ),
    ).toBe(3);
  });

  it('answers FAILED_PRECONDITION for disabled, scheduled-for-destruction and destroyed versions', async () => {
    const { key } = await newKey();
    const v1 = `${key}/cryptoKeyVersions/1`;
    const [enc] = await owner.encrypt({ name: key, plaintext: Buffer.from('p') });
    const ct = Buffer.from(enc.ciphertext as Uint8Array);
    await owner.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: v1, state: 'DISABLED' },
      updateMask: { paths: ['state'] },
    });
    await expect(owner.encrypt({ name: key, plaintext: Buffer.from('p') }, NO_RETRY)).rejects.toMatchObject({
      code: 9,
      details: expect.stringContaining('DISABLED'),
    });
    await expect(owner.decrypt({ name: key, ciphertext: ct }, NO_RETRY)).rejects.toMatchObject({
      code: 9,
      details: expect.stringContaining('DISABLED'),
    });
    await owner.destroyCryptoKeyVersion({ name: v1 });
    await expect(owner.decrypt({ name: key, ciphertext: ct }, NO_RETRY)).rejects.toMatchObject({
      code: 9,
      details: expect.stringContaining('DESTROY_SCHEDULED'),
    });
    expect((await h.admin('POST', '/gcp/versions/destroy-now', { name: v1 })).status).toBe(200);
    await expect(owner.decrypt({ name: key, ciphertext: ct }, NO_RETRY)).rejects.toMatchObject({
      code: 9,
      details: expect.stringContaining('DESTROYED'),
    });
    expect(await code(owner.restoreCryptoKeyVersion({ name: v1 }, NO_RETRY))).toBe(9);
  });

  it('answers NOT_FOUND for unknown keys (to the owner) and INVALID_ARGUMENT for malformed names', async () => {
    expect(await code(owner.getCryptoKey({ name: `${LOCATION}/keyRings/none/cryptoKeys/none` }, NO_RETRY))).toBe(5);
    expect(await code(owner.getCryptoKey({ name: 'projects/x/keys/y' }, NO_RETRY))).toBe(3);
  });

  it('impersonates vendor-project service accounts only, and evaluates IAM on every call', async () => {
    const { ring, key } = await newKey();
    const sa = `keyhold-t-abc@${h.vendorProject}.iam.gserviceaccount.com`;
    const token = await impersonate(sa);
    const tenant = h.kmsWithToken(token);

    // No binding yet: PERMISSION_DENIED for the impersonated SA.
    await expect(tenant.encrypt({ name: key, plaintext: Buffer.from('p') }, NO_RETRY)).rejects.toMatchObject({
      code: 7,
    });
    await expect(tenant.getCryptoKey({ name: key }, NO_RETRY)).rejects.toMatchObject({ code: 7 });

    // Encrypter only: encrypt works, decrypt is refused.
    await setPolicy(key, [{ role: 'roles/cloudkms.cryptoKeyEncrypter', members: [`serviceAccount:${sa}`] }]);
    const [enc] = await tenant.encrypt({ name: key, plaintext: Buffer.from('p') });
    expect(await code(tenant.decrypt({ name: key, ciphertext: enc.ciphertext }, NO_RETRY))).toBe(7);

    // EncrypterDecrypter on the key ring is inherited by the key; viewer allows get.
    await setPolicy(key, []);
    await setPolicy(ring, [
      { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [`serviceAccount:${sa}`] },
      { role: 'roles/cloudkms.viewer', members: [`serviceAccount:${sa}`] },
    ]);
    const [dec] = await tenant.decrypt({ name: key, ciphertext: enc.ciphertext });
    expect(Buffer.from(dec.plaintext as Uint8Array).toString()).toBe('p');
    const [k] = await tenant.getCryptoKey({ name: key });
    expect(k.name).toBe(key);
    const [policy] = await getPolicy(ring);
    expect(policy.bindings?.map((b) => b.role).sort()).toEqual([
      'roles/cloudkms.cryptoKeyEncrypterDecrypter',
      'roles/cloudkms.viewer',
    ]);
    // The tenant SA may not administer the key.
    expect(await code(tenant.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} }, NO_RETRY))).toBe(7);

    // A revoked token no longer authenticates; an unknown token never did.
    await h.admin('POST', '/gcp/tokens/revoke', { member: `serviceAccount:${sa}` });
    expect(await code(tenant.encrypt({ name: key, plaintext: Buffer.from('p') }, NO_RETRY))).toBe(16);
    expect(await code(h.kmsWithToken('forged').encrypt({ name: key, plaintext: Buffer.from('p') }, NO_RETRY))).toBe(16);

    // The vendor may not impersonate a service account of another project.
    await expect(impersonate('someone@customer-proj.iam.gserviceaccount.com')).rejects.toThrow(/PERMISSION_DENIED/);
  });

  it('surfaces throttling and 5xx as the SDK codes, with bounded retries', async () => {
    const { key } = await newKey();
    h.faults.add({ cloud: 'gcp', operation: 'Encrypt', kind: 'throttle', count: 1 });
    expect(await code(owner.encrypt({ name: key, plaintext: Buffer.from('p') }, NO_RETRY))).toBe(8);
    h.faults.add({ cloud: 'gcp', operation: 'Encrypt', kind: 'error' });
    expect(await code(owner.encrypt({ name: key, plaintext: Buffer.from('p') }, NO_RETRY))).toBe(14);
    expect(h.counters.total({ cloud: 'gcp', operation: 'Encrypt', outcome: 'UNAVAILABLE' })).toBe(1);
    // With UNAVAILABLE retried (the SDK default codes) and a bounded budget, the SDK retries then gives up.
    const bounded = {
      retry: {
        retryCodes: [14],
        backoffSettings: {
          initialRetryDelayMillis: 20,
          retryDelayMultiplier: 1,
          maxRetryDelayMillis: 20,
          initialRpcTimeoutMillis: 500,
          rpcTimeoutMultiplier: 1,
          maxRpcTimeoutMillis: 500,
          totalTimeoutMillis: 400,
        },
      },
    };
    const started = Date.now();
    const c = await code(owner.encrypt({ name: key, plaintext: Buffer.from('p') }, bounded));
    expect([4, 14]).toContain(c);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(h.counters.total({ cloud: 'gcp', operation: 'Encrypt', outcome: 'UNAVAILABLE' })).toBeGreaterThan(2);
  });

  it('applies injected latency and hangs until the client deadline', async () => {
    const { key } = await newKey();
    let t = Date.now();
    await owner.encrypt({ name: key, plaintext: Buffer.from('p') });
    const base = Date.now() - t;
    h.faults.add({ cloud: 'gcp', operation: 'Encrypt', kind: 'latency', latencyMs: 300 });
    t = Date.now();
    await owner.encrypt({ name: key, plaintext: Buffer.from('p') });
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t).toBeGreaterThan(base + 200);
    h.faults.clear();
    h.faults.add({ cloud: 'gcp', operation: 'Decrypt', kind: 'hang', count: 1 });
    t = Date.now();
    expect(
      await code(owner.decrypt({ name: key, ciphertext: Buffer.alloc(40) }, { timeout: 300, retry: NO_RETRY.retry })),
    ).toBe(4);
    expect(Date.now() - t).toBeLessThan(2500);
  });

  it('counts every call exactly, by operation, principal and outcome', async () => {
    const { key } = await newKey();
    h.counters.reset();
    await owner.encrypt({ name: key, plaintext: Buffer.from('a') });
    await owner.encrypt({ name: key, plaintext: Buffer.from('b') });
    await code(owner.decrypt({ name: key, ciphertext: Buffer.alloc(40) }, NO_RETRY));
    await owner.getCryptoKey({ name: key });
    expect(h.counters.list({ cloud: 'gcp' }).sort((a, b) => a.operation.localeCompare(b.operation))).toEqual([
      { cloud: 'gcp', operation: 'Decrypt', principal: h.ownerMember, outcome: 'INVALID_ARGUMENT', count: 1 },
      { cloud: 'gcp', operation: 'Encrypt', principal: h.ownerMember, outcome: 'ok', count: 2 },
      { cloud: 'gcp', operation: 'GetCryptoKey', principal: h.ownerMember, outcome: 'ok', count: 1 },
    ]);
  });

  it('exports, resets and imports state; unimplemented methods answer UNIMPLEMENTED', async () => {
    const { key } = await newKey();
    const [enc] = await owner.encrypt({ name: key, plaintext: Buffer.from('keep') });
    const snapshot = h.emulator.exportState();
    h.emulator.resetState();
    expect(await code(owner.getCryptoKey({ name: key }, NO_RETRY))).toBe(5);
    h.emulator.importState(snapshot);
    const [dec] = await owner.decrypt({ name: key, ciphertext: enc.ciphertext });
    expect(Buffer.from(dec.plaintext as Uint8Array).toString()).toBe('keep');
    expect(await code(owner.generateRandomBytes({ location: LOCATION, lengthBytes: 8 }, NO_RETRY))).toBe(12);
    const ep = await h.admin('GET', '/gcp/endpoints');
    expect(ep.body.kms.port).toBe(h.endpoints.kms.port);
    expect(ep.body.iamCredentials).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });
});
