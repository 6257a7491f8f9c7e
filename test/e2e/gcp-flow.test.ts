import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';

/**
 * The whole path against Google Cloud (real @google-cloud/kms over gRPC+TLS and google-auth-library's Impersonated
 * client → GCP emulator, real Postgres and Redis): tenant → register (valid and each invalid kind) → bind → DEKs →
 * isolation → audit chain verifies.
 */
describe('GCP end to end', () => {
  let stack: TestStack;
  /** The customer's own Cloud KMS client: no caller identity, so the emulator treats it as the project owner. */
  let customer: KeyManagementServiceClient;
  const LOCATION = 'projects/customer-proj/locations/europe-west1';
  type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];

  beforeAll(async () => {
    stack = await startStack();
    const env = stack.config.providerEnv;
    const [host, port] = env.KEYHOLD_GCP_KMS_ENDPOINT!.split(':');
    customer = new KeyManagementServiceClient({
      apiEndpoint: host,
      port: Number(port),
      sslCreds: grpc.credentials.createSsl(Buffer.from(env.KEYHOLD_GCP_CA_PEM!)),
      authClient: new OAuth2Client(),
    });
  });
  afterAll(async () => {
    await customer?.close();
    await stack?.close();
  });

  /** A key in the customer's project, granted to `serviceAccount` the way Keyhold's hint says (unless grant is false). */
  async function customerKey(serviceAccount: string, grant = true) {
    const [ring] = await customer.createKeyRing({
      parent: LOCATION,
      keyRingId: `ring-${randomBytes(4).toString('hex')}`,
      keyRing: {},
    });
    const [key] = await customer.createCryptoKey({
      parent: ring.name!,
      cryptoKeyId: 'kek',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
    });
    if (grant) {
      const members = [`serviceAccount:${serviceAccount}`];
      const policy = {
        bindings: [
          { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members },
          { role: 'roles/cloudkms.viewer', members },
        ],
      };
      await customer.setIamPolicy({ resource: key.name!, policy } as unknown as SetIamPolicyArg);
    }
    return key.name!;
  }

  it('registers, binds and serves DEKs; another tenant gets 404; the audit chain verifies', async () => {
    expect(Object.keys(stack.emulators.clouds)).toContain('gcp');
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    const sa: string = t.tenant.gcp.serviceAccount;
    expect(sa).toMatch(/^keyhold-t-[0-9a-f]{20}@keyhold-vendor\.iam\.gserviceaccount\.com$/);
    const keyName = await customerKey(sa);

    const kc = await stack.http.post(
      `${base}/key-configurations`,
      { name: 'cloudkms', provider: 'gcp', gcp: { keyName, serviceAccount: sa } },
      t.token,
    );
    expect(kc.status).toBe(201);
    expect(kc.body).toMatchObject({ provider: 'gcp', status: 'valid' });
    expect(kc.body.validation.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining([
        'identifier',
        'impersonation',
        'key_state',
        'key_usage',
        'round_trip',
        'context_binding',
      ]),
    );

    const ws = await stack.http.post(`${base}/workspaces`, { name: 'gcp-ws' }, t.token);
    const bound = await stack.http.put(
      `${base}/workspaces/${ws.body.id}/key-binding`,
      { keyConfigurationId: kc.body.id },
      t.token,
    );
    expect(bound.status).toBe(200);
    expect(bound.body).toMatchObject({ keyState: 'active', kekVersion: 1, degraded: false });

    const sp = await stack.http.post(
      `${base}/service-principals`,
      { name: 'svc', workspaceIds: [ws.body.id] },
      t.token,
    );
    const tok = await stack.http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: sp.body.clientSecret,
    });
    const svc = tok.body.access_token as string;
    const dek = await stack.http.get(`/internal/v1/workspaces/${ws.body.id}/segments/s-1/dek`, svc);
    expect(dek.status).toBe(200);
    expect(Buffer.from(dek.body.dek, 'base64')).toHaveLength(32);
    expect((await stack.http.get(`/internal/v1/workspaces/${ws.body.id}/segments/s-1/dek`, svc)).body).toEqual(
      dek.body,
    );
    const batch = await stack.http.post(
      `/internal/v1/workspaces/${ws.body.id}/deks:batchGet`,
      { segmentIds: ['s-1', 's-2', 's-3'] },
      svc,
    );
    expect(batch.status).toBe(200);
    expect(batch.body.deks[0]).toMatchObject({ segmentId: 's-1', dek: dek.body.dek });
    expect(new Set(batch.body.deks.map((d: { dek: string }) => d.dek)).size).toBe(3);

    // The KEK really is wrapped by Cloud KMS as this tenant's service account.
    expect(
      stack.emulators.counters.total({
        cloud: 'gcp',
        operation: 'Encrypt',
        principal: `serviceAccount:${sa}`,
        outcome: 'ok',
      }),
    ).toBeGreaterThanOrEqual(2);

    const other = await tenantWithAdmin(stack);
    expect(other.tenant.gcp.serviceAccount).not.toBe(sa);
    for (const path of [`${base}/workspaces/${ws.body.id}`, `${base}/key-configurations/${kc.body.id}`]) {
      expect((await stack.http.get(path, other.token)).status).toBe(404);
    }
    expect((await stack.http.get(`/v1/tenants/${other.tenant.id}/workspaces/${ws.body.id}`, other.token)).status).toBe(
      404,
    );
    expect(
      (await stack.http.get(`/v1/tenants/${other.tenant.id}/key-configurations/${kc.body.id}`, other.token)).status,
    ).toBe(404);

    const audit = await stack.http.get(`${base}/audit-events/verification`, t.token);
    expect(audit.status).toBe(200);
    expect(audit.body.ok).toBe(true);
    expect(stack.logs()).not.toContain(dek.body.dek);
  });

  it('reports a missing IAM binding and a disabled version in words; refuses another tenant’s service account', async () => {
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    const sa: string = t.tenant.gcp.serviceAccount;
    const reg = (name: string, gcp: object) =>
      stack.http.post(`${base}/key-configurations`, { name, provider: 'gcp', gcp }, t.token);

    // No IAM binding: invalid, with the exact gcloud command to fix it.
    const ungranted = await customerKey(sa, false);
    const r1 = await reg('no-binding', { keyName: ungranted, serviceAccount: sa });
    expect(r1.status).toBe(201);
    expect(r1.body.status).toBe('invalid');
    const denied = r1.body.validation.checks.find((c: { ok: boolean }) => !c.ok);
    expect(denied.message).toContain(`--member serviceAccount:${sa} --role roles/cloudkms.cryptoKeyEncrypterDecrypter`);

    // Primary version disabled: invalid, naming the state.
    const disabled = await customerKey(sa);
    await customer.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: `${disabled}/cryptoKeyVersions/1`, state: 'DISABLED' },
      updateMask: { paths: ['state'] },
    });
    const r2 = await reg('disabled', { keyName: disabled, serviceAccount: sa });
    expect(r2.body.status).toBe('invalid');
    expect(r2.body.validation.checks.find((c: { name: string }) => c.name === 'key_state')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/disabled/),
    });

    // Another tenant's service account (granted on the key, even): a confused deputy, refused before any cloud call.
    const other = await tenantWithAdmin(stack);
    const theirs: string = other.tenant.gcp.serviceAccount;
    const theirKey = await customerKey(theirs);
    const r3 = await reg('someone-else', { keyName: theirKey, serviceAccount: theirs });
    expect(r3.status).toBe(400);
    expect(r3.body.error.code).toBe('INVALID_IDENTIFIER');
    expect(r3.body.error.message).toContain(sa);

    // Malformed key names → 400 with the reason.
    for (const keyName of [`${theirKey}/cryptoKeyVersions/1`, 'projects/x/keys/y', 42]) {
      const bad = await reg('bad', { keyName, serviceAccount: sa });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_IDENTIFIER');
      expect(bad.body.error.message).toMatch(/keyName/);
    }

    // An invalid configuration cannot be bound.
    const ws = await stack.http.post(`${base}/workspaces`, { name: 'w' }, t.token);
    const b = await stack.http.put(
      `${base}/workspaces/${ws.body.id}/key-binding`,
      { keyConfigurationId: r1.body.id },
      t.token,
    );
    expect(b.status).toBe(409);
    expect(b.body.error.code).toBe('KEY_CONFIGURATION_INVALID');

    const audit = await stack.http.get(`${base}/audit-events/verification`, t.token);
    expect(audit.body.ok).toBe(true);
  });
});
