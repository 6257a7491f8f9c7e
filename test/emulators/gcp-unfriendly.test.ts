import { request as httpsRequest } from 'node:https';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { startGcpEmulator, type GcpEmulatorHarness } from '../support/gcp-emulator';

/** Cloud KMS emulator: project-level and conditional IAM, purpose mismatch, propagation, through @google-cloud/kms. */
const PROJECT = 'cond-proj';
const LOCATION = `projects/${PROJECT}/locations/europe-west1`;
const SA = 'serviceAccount:tenant-x@keyhold-vendor.iam.gserviceaccount.com';

let h: GcpEmulatorHarness;
let owner: KeyManagementServiceClient;
beforeAll(async () => {
  h = await startGcpEmulator();
  owner = h.ownerKms();
});
afterAll(async () => h.close());

type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];
const code = (p: Promise<unknown>): Promise<{ code: number; details: string }> =>
  p.then(
    () => ({ code: -1, details: '' }),
    (e: unknown) => ({ code: (e as { code?: number }).code ?? -2, details: (e as { details?: string }).details ?? '' }),
  );

let seq = 0;
async function newKey(purpose: 'ENCRYPT_DECRYPT' | 'ASYMMETRIC_SIGN' = 'ENCRYPT_DECRYPT') {
  const [ring] = await owner.createKeyRing({ parent: LOCATION, keyRingId: `r${++seq}`, keyRing: {} });
  const [key] = await owner.createCryptoKey({
    parent: ring.name!,
    cryptoKeyId: 'k',
    cryptoKey: {
      purpose,
      versionTemplate: purpose === 'ASYMMETRIC_SIGN' ? { algorithm: 'EC_SIGN_P256_SHA256' } : undefined,
    },
  });
  return { ring: ring.name!, key: key.name! };
}

/** A KMS client acting as the tenant's service account, with a token minted by the emulated IAM Credentials API. */
async function saClient(): Promise<KeyManagementServiceClient> {
  const email = 'tenant-x@keyhold-vendor.iam.gserviceaccount.com';
  const url = new URL(`${h.endpoints.iamCredentials}/v1/projects/-/serviceAccounts/${email}:generateAccessToken`);
  const body = JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloudkms'], lifetime: '600s' });
  const token = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'POST',
        ca: h.caPem,
        headers: { authorization: `Bearer ${h.vendorToken}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text).accessToken) : reject(new Error(text))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  return h.kmsWithToken(token);
}

describe('GCP Cloud KMS emulator: IAM inheritance, conditions, purpose, propagation', () => {
  it('a project-level role binding is inherited by every key ring and key of the project (resource hierarchy)', async () => {
    const { key } = await newKey();
    const sa = await saClient();
    const plaintext = Buffer.from('hello');
    expect((await code(sa.encrypt({ name: key, plaintext }))).code).toBe(7); // PERMISSION_DENIED
    const set = await h.admin('PUT', '/gcp/projects/iam', {
      project: PROJECT,
      bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [SA] }],
    });
    expect(set.status).toBe(200);
    const [enc] = await sa.encrypt({ name: key, plaintext });
    expect(enc.ciphertext).toBeTruthy();
    await h.admin('PUT', '/gcp/projects/iam', { project: PROJECT, bindings: [] });
    expect((await code(sa.encrypt({ name: key, plaintext }))).code).toBe(7);
  });

  it('IAM Conditions: a binding expiring by request.time stops granting at that time; resource.name.startsWith scopes it; version 3 is required', async () => {
    const { ring, key } = await newKey();
    const other = await newKey();
    const sa = await saClient();
    const plaintext = Buffer.from('x');
    const bind = (expression: string, version = 3) =>
      owner.setIamPolicy({
        resource: ring,
        policy: {
          version,
          bindings: [
            {
              role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
              members: [SA],
              condition: { title: 't', expression },
            },
          ],
        },
      } as unknown as SetIamPolicyArg);
    // Conditions need policy version 3 (INVALID_ARGUMENT otherwise); an expression the emulator cannot read is refused.
    expect((await code(bind(`request.time < timestamp("2999-01-01T00:00:00Z")`, 1))).code).toBe(3);
    expect((await code(bind(`request.time.getHours("Europe/Paris") < 18`))).code).toBe(3);
    await bind(`request.time < timestamp("${new Date(Date.now() + 1500).toISOString()}")`);
    const [policy] = await owner.getIamPolicy({ resource: ring } as never);
    expect(policy.version).toBe(3);
    expect(policy.bindings[0].condition!.expression).toMatch(/^request\.time </);
    expect((await code(sa.encrypt({ name: key, plaintext }))).code).toBe(-1);
    await new Promise((r) => setTimeout(r, 1700));
    expect((await code(sa.encrypt({ name: key, plaintext }))).code).toBe(7);
    // resource.name prefix: the grant on this ring's policy covers only names under it (and another ring is unaffected).
    await bind(`resource.name.startsWith("${ring}/cryptoKeys/")`);
    expect((await code(sa.encrypt({ name: key, plaintext }))).code).toBe(-1);
    expect((await code(sa.encrypt({ name: other.key, plaintext }))).code).toBe(7);
    await bind(`resource.name.startsWith("${ring}/cryptoKeys/nope")`);
    expect((await code(sa.encrypt({ name: key, plaintext }))).code).toBe(7);
  });

  it('Encrypt/Decrypt on an ASYMMETRIC_SIGN key: FAILED_PRECONDITION naming the incorrect key purpose', async () => {
    const { key } = await newKey('ASYMMETRIC_SIGN');
    const e = await code(owner.encrypt({ name: key, plaintext: Buffer.from('x') }));
    expect(e.code).toBe(9);
    expect(e.details).toMatch(/incorrect key purpose: ASYMMETRIC_SIGN/);
    const d = await code(owner.decrypt({ name: key, ciphertext: Buffer.alloc(64, 1) }));
    expect(d.code).toBe(9);
  });

  it('propagation: a removed binding keeps granting during the delay, then answers old or new at random, then denies', async () => {
    const { key } = await newKey();
    await owner.setIamPolicy({
      resource: key,
      policy: { bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [SA] }] },
    } as unknown as SetIamPolicyArg);
    const sa = await saClient();
    expect((await h.admin('PUT', '/propagation/gcp', { delayMs: 200, flapMs: 1200, seed: 3 })).status).toBe(200);
    await owner.setIamPolicy({ resource: key, policy: { bindings: [] } } as unknown as SetIamPolicyArg);
    const plaintext = Buffer.from('x');
    expect((await code(sa.encrypt({ name: key, plaintext }))).code).toBe(-1);
    await new Promise((r) => setTimeout(r, 250));
    const seen = new Set<number>();
    const until = Date.now() + 1000;
    while (Date.now() < until) seen.add((await code(sa.encrypt({ name: key, plaintext }))).code);
    expect(seen).toEqual(new Set([-1, 7]));
    await new Promise((r) => setTimeout(r, Math.max(0, until + 500 - Date.now())));
    for (let i = 0; i < 5; i++) expect((await code(sa.encrypt({ name: key, plaintext }))).code).toBe(7);
    await h.admin('DELETE', '/propagation/gcp');
  });
});
