import { randomBytes } from 'node:crypto';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { emulatorAdmin } from '../support/emulator-admin';
import { azureCustomerKeys } from '../../hardening/lib/azure-customer';

/** The ownership tag a customer sets on their key: its value is their Keyhold tenant's ExternalId. */
const OWNERSHIP_TAG = 'keyhold-external-id';

/**
 * The whole path against Azure (real @azure/keyvault-keys + @azure/identity → Azure emulator over https, real
 * Postgres and Redis): register (valid and invalid kinds) → bind → DEKs → isolation → revocation-check request.
 */
describe('Azure end to end', () => {
  let stack: TestStack;
  const d = AZURE_EMULATOR_DEFAULTS;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    customer?.close();
    await stack?.close();
  });

  let customer: ReturnType<typeof azureCustomerKeys> | undefined;
  /** The customer's own KeyClient (real SDK), for what they do in their vault: tag, untag. */
  const vault = () => (customer ??= azureCustomerKeys(stack.config.providerEnv, stack.emulators.azureVaultUrl)).keys;
  const admin = emulatorAdmin(() => stack.emulators.admin.url);
  /** A customer key granted to Keyhold's app and, when `ownerExternalId` is given, tagged for that Keyhold tenant. */
  async function customerKey(grant = true, keyOps?: string[], ownerExternalId?: string) {
    const name = `k-${randomBytes(4).toString('hex')}`;
    const created = await admin('POST', '/azure/keys', { name, keyOps });
    expect(created.status).toBe(201);
    if (grant)
      await admin('POST', '/azure/grants', {
        tenantId: d.customerTenantId,
        clientId: d.vendorClientId,
        key: name,
        ops: ['get', 'wrapKey', 'unwrapKey'],
      });
    if (ownerExternalId) await vault().updateKeyProperties(name, { tags: { [OWNERSHIP_TAG]: ownerExternalId } });
    return { name, keyId: `${stack.emulators.azureVaultUrl}/keys/${name}` };
  }

  it('registers, binds and serves DEKs; another tenant gets 404', async () => {
    expect(Object.keys(stack.emulators.clouds)).toContain('azure');
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    expect(t.tenant.azure).toMatchObject({ clientId: d.vendorClientId });
    const { keyId } = await customerKey(true, undefined, t.tenant.aws.externalId);
    const kc = await stack.http.post(
      `${base}/key-configurations`,
      { name: 'vault', provider: 'azure', azure: { keyId, tenantId: d.customerTenantId } },
      t.token,
    );
    expect(kc.status).toBe(201);
    expect(kc.body.status).toBe('valid');
    expect(kc.body.validation.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining([
        'identifier',
        'credentials',
        'key_ownership',
        'key_state',
        'key_usage',
        'round_trip',
        'context_binding',
      ]),
    );
    const ws = await stack.http.post(`${base}/workspaces`, { name: 'azure-ws' }, t.token);
    const bound = await stack.http.put(
      `${base}/workspaces/${ws.body.id}/key-binding`,
      { keyConfigurationId: kc.body.id },
      t.token,
    );
    expect(bound.status).toBe(200);
    expect(bound.body).toMatchObject({ keyState: 'active', kekVersion: 1 });
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
    const dek = await stack.http.get(`/internal/v1/workspaces/${ws.body.id}/segments/s-1/dek`, tok.body.access_token);
    expect(dek.status).toBe(200);
    expect(Buffer.from(dek.body.dek, 'base64')).toHaveLength(32);
    const batch = await stack.http.post(
      `/internal/v1/workspaces/${ws.body.id}/deks:batchGet`,
      { segmentIds: ['s-1', 's-2'] },
      tok.body.access_token,
    );
    expect(batch.body.deks[0].dek).toBe(dek.body.dek);

    const other = await tenantWithAdmin(stack);
    expect((await stack.http.get(`/v1/tenants/${other.tenant.id}/workspaces/${ws.body.id}`, other.token)).status).toBe(
      404,
    );
    expect(
      (await stack.http.get(`/v1/tenants/${other.tenant.id}/key-configurations/${kc.body.id}`, other.token)).status,
    ).toBe(404);
    const audit = await stack.http.get(`${base}/audit-events/verification`, t.token);
    expect(audit.body.ok).toBe(true);
  });

  it('confused deputy: another Keyhold tenant cannot register or bind a key the customer tagged for their own tenant', async () => {
    // Customer Y grants Keyhold's app on a key and tags it with their Keyhold tenant's ExternalId, then registers it.
    const y = await tenantWithAdmin(stack);
    const yBase = `/v1/tenants/${y.tenant.id}`;
    const key = await customerKey(true, undefined, y.tenant.aws.externalId);
    const yKc = await stack.http.post(
      `${yBase}/key-configurations`,
      { name: 'y-vault', provider: 'azure', azure: { keyId: key.keyId, tenantId: d.customerTenantId } },
      y.token,
    );
    expect(yKc.status).toBe(201);
    expect(yKc.body.status).toBe('valid');

    // Tenant X knows the key URL and the directory id (neither is a secret) and registers the same key.
    const x = await tenantWithAdmin(stack);
    const xBase = `/v1/tenants/${x.tenant.id}`;
    const xKc = await stack.http.post(
      `${xBase}/key-configurations`,
      { name: 'not-mine', provider: 'azure', azure: { keyId: key.keyId, tenantId: d.customerTenantId } },
      x.token,
    );
    expect(xKc.status).toBe(201);
    expect(xKc.body.status).toBe('invalid');
    const ownership = xKc.body.validation.checks.find((c: { name: string }) => c.name === 'key_ownership');
    expect(ownership).toMatchObject({ ok: false });
    // The message says exactly what the key's owner would have to do, with X's own value (never Y's).
    expect(ownership.message).toContain(OWNERSHIP_TAG);
    expect(ownership.message).toContain(x.tenant.aws.externalId);
    expect(ownership.message).not.toContain(y.tenant.aws.externalId);
    expect(JSON.stringify(xKc.body)).not.toContain(y.tenant.aws.externalId);
    // Nothing was wrapped under Y's key for X: no wrapKey beyond Y's own validation.
    const ws = await stack.http.post(`${xBase}/workspaces`, { name: 'x-ws' }, x.token);
    const bound = await stack.http.put(
      `${xBase}/workspaces/${ws.body.id}/key-binding`,
      { keyConfigurationId: xKc.body.id },
      x.token,
    );
    expect(bound.status).toBe(409);
    expect(bound.body.error.code).toBe('KEY_CONFIGURATION_INVALID');
    expect((await stack.http.get(`${xBase}/workspaces/${ws.body.id}`, x.token)).body.keyState).toBe('unbound');
    // Validating again changes nothing while the tag names Y.
    const again = await stack.http.post(`${xBase}/key-configurations/${xKc.body.id}/validate`, {}, x.token);
    expect(again.body.status).toBe('invalid');

    // The tenant shows its ExternalId for Azure too, and the configuration's setup carries the tag command.
    expect(x.tenant.azure).toMatchObject({ externalId: x.tenant.aws.externalId, ownershipTag: OWNERSHIP_TAG });
    expect(JSON.stringify(xKc.body.setup)).toContain(`${OWNERSHIP_TAG}=${x.tenant.aws.externalId}`);

    // A key without the tag is refused as well (not only a key tagged for someone else).
    const untagged = await customerKey(true);
    const u = await stack.http.post(
      `${xBase}/key-configurations`,
      { name: 'untagged', provider: 'azure', azure: { keyId: untagged.keyId, tenantId: d.customerTenantId } },
      x.token,
    );
    expect(u.body.status).toBe('invalid');
    expect(u.body.validation.checks.find((c: { name: string }) => c.name === 'key_ownership')?.ok).toBe(false);
    // Once the owner tags it for X, X's validation passes: the tag is the owner's grant to one Keyhold tenant.
    await vault().updateKeyProperties(untagged.name, { tags: { [OWNERSHIP_TAG]: x.tenant.aws.externalId } });
    const fixed = await stack.http.post(`${xBase}/key-configurations/${u.body.id}/validate`, {}, x.token);
    expect(fixed.body.status).toBe('valid');
  });

  it('reports each invalid kind in words and refuses malformed or non-Azure URLs with a 400', async () => {
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    const ungranted = await customerKey(false);
    const r1 = await stack.http.post(
      `${base}/key-configurations`,
      { name: 'no-grant', provider: 'azure', azure: { keyId: ungranted.keyId, tenantId: d.customerTenantId } },
      t.token,
    );
    expect(r1.status).toBe(201);
    expect(r1.body.status).toBe('invalid');
    expect(JSON.stringify(r1.body.validation.checks)).toMatch(/Key Vault Crypto Service Encryption User/);

    const signing = await customerKey(true, ['sign', 'verify'], t.tenant.aws.externalId);
    const r2 = await stack.http.post(
      `${base}/key-configurations`,
      { name: 'signing', provider: 'azure', azure: { keyId: signing.keyId, tenantId: d.customerTenantId } },
      t.token,
    );
    expect(r2.body.status).toBe('invalid');
    expect(r2.body.validation.checks.find((c: { name: string }) => c.name === 'key_usage').ok).toBe(false);

    for (const keyId of [
      'https://evil.example.com/keys/k',
      'http://myvault.vault.azure.net/keys/k',
      'https://169.254.169.254/keys/k',
      42,
    ]) {
      const bad = await stack.http.post(
        `${base}/key-configurations`,
        { name: 'bad', provider: 'azure', azure: { keyId, tenantId: d.customerTenantId } },
        t.token,
      );
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toEqual(expect.any(String));
      expect(bad.body.error.message).toMatch(/Azure key identifier/);
    }
  });
});
