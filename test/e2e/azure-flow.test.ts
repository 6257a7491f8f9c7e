import { randomBytes } from 'node:crypto';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { emulatorAdmin } from '../support/emulator-admin';

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
  afterAll(async () => stack?.close());

  const admin = emulatorAdmin(() => stack.emulators.adminUrl!);
  async function customerKey(grant = true, keyOps?: string[]) {
    const name = `k-${randomBytes(4).toString('hex')}`;
    const created = await admin('POST', '/azure/keys', { name, keyOps });
    expect(created.status).toBe(201);
    if (grant) await admin('POST', '/azure/grants', { tenantId: d.customerTenantId, clientId: d.vendorClientId, key: name, ops: ['get', 'wrapKey', 'unwrapKey'] });
    return { name, keyId: `${stack.emulators.azureVaultUrl}/keys/${name}` };
  }

  it('registers, binds and serves DEKs; another tenant gets 404', async () => {
    expect(stack.emulators.clouds).toContain('azure');
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    expect(t.tenant.azure).toMatchObject({ clientId: d.vendorClientId });
    const { keyId } = await customerKey();
    const kc = await stack.http.post(`${base}/key-configurations`, { name: 'vault', provider: 'azure', azure: { keyId, tenantId: d.customerTenantId } }, t.token);
    expect(kc.status).toBe(201);
    expect(kc.body.status).toBe('valid');
    expect(kc.body.validation.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['identifier', 'credentials', 'key_state', 'key_usage', 'round_trip', 'context_binding']),
    );
    const ws = await stack.http.post(`${base}/workspaces`, { name: 'azure-ws' }, t.token);
    const bound = await stack.http.put(`${base}/workspaces/${ws.body.id}/key-binding`, { keyConfigurationId: kc.body.id }, t.token);
    expect(bound.status).toBe(200);
    expect(bound.body).toMatchObject({ keyState: 'active', kekVersion: 1 });
    const sp = await stack.http.post(`${base}/service-principals`, { name: 'svc', workspaceIds: [ws.body.id] }, t.token);
    const tok = await stack.http.post('/v1/auth/token', { grant_type: 'client_credentials', client_id: sp.body.clientId, client_secret: sp.body.clientSecret });
    const dek = await stack.http.get(`/internal/v1/workspaces/${ws.body.id}/segments/s-1/dek`, tok.body.access_token);
    expect(dek.status).toBe(200);
    expect(Buffer.from(dek.body.dek, 'base64')).toHaveLength(32);
    const batch = await stack.http.post(`/internal/v1/workspaces/${ws.body.id}/deks:batchGet`, { segmentIds: ['s-1', 's-2'] }, tok.body.access_token);
    expect(batch.body.deks[0].dek).toBe(dek.body.dek);

    const other = await tenantWithAdmin(stack);
    expect((await stack.http.get(`/v1/tenants/${other.tenant.id}/workspaces/${ws.body.id}`, other.token)).status).toBe(404);
    expect((await stack.http.get(`/v1/tenants/${other.tenant.id}/key-configurations/${kc.body.id}`, other.token)).status).toBe(404);
    const audit = await stack.http.get(`${base}/audit-events/verification`, t.token);
    expect(audit.body.ok).toBe(true);
  });

  it('reports each invalid kind in words and refuses malformed or non-Azure URLs with a 400', async () => {
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    const ungranted = await customerKey(false);
    const r1 = await stack.http.post(`${base}/key-configurations`, { name: 'no-grant', provider: 'azure', azure: { keyId: ungranted.keyId, tenantId: d.customerTenantId } }, t.token);
    expect(r1.status).toBe(201);
    expect(r1.body.status).toBe('invalid');
    expect(JSON.stringify(r1.body.validation.checks)).toMatch(/Key Vault Crypto Service Encryption User/);

    const signing = await customerKey(true, ['sign', 'verify']);
    const r2 = await stack.http.post(`${base}/key-configurations`, { name: 'signing', provider: 'azure', azure: { keyId: signing.keyId, tenantId: d.customerTenantId } }, t.token);
    expect(r2.body.status).toBe('invalid');
    expect(r2.body.validation.checks.find((c: { name: string }) => c.name === 'key_usage').ok).toBe(false);

    for (const keyId of ['https://evil.example.com/keys/k', 'http://myvault.vault.azure.net/keys/k', 'https://169.254.169.254/keys/k', 42]) {
      const bad = await stack.http.post(`${base}/key-configurations`, { name: 'bad', provider: 'azure', azure: { keyId, tenantId: d.customerTenantId } }, t.token);
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toEqual(expect.any(String));
      expect(bad.body.error.message).toMatch(/Azure key identifier/);
    }
  });
});
