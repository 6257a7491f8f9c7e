import { randomBytes } from 'node:crypto';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { AzureEmulatorHarness, startAzureEmulator } from '../support/azure-emulator';

/**
 * The Azure emulator as unfriendly as Key Vault, driven only through @azure/keyvault-keys + @azure/identity. Each test
 * names the behaviour Key Vault documents.
 */
describe('Azure Key Vault emulator: documented refusals and end states', () => {
  let az: AzureEmulatorHarness;
  const d = AZURE_EMULATOR_DEFAULTS;
  beforeAll(async () => {
    az = await startAzureEmulator();
  });
  afterAll(async () => az?.close());
  afterEach(async () => {
    await az.admin('PUT', '/azure/firewall', { enabled: false });
    await az.admin('PUT', '/azure/permission-model', { model: 'rbac' });
    await az.admin('DELETE', '/propagation/azure');
  });

  const errOf = async (p: Promise<unknown>): Promise<any> =>
    p.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e,
    );
  const vendorCrypto = (keyUrl: string) => az.cryptoAs(keyUrl, d.vendorClientId, d.vendorClientSecret);

  it('soft delete, then recover (beginRecoverDeletedKey): the key answers 404 KeyNotFound while deleted and comes back with its versions', async () => {
    const keys = az.customerKeys();
    const k = await keys.createRsaKey('recoverable', { keyOps: ['wrapKey', 'unwrapKey'] });
    await az.grantVendor('recoverable');
    const wrapped = await vendorCrypto(k.id!).wrapKey('RSA-OAEP-256', randomBytes(32));
    await (await keys.beginDeleteKey('recoverable', { intervalInMs: 10 })).pollUntilDone();
    const gone = await errOf(vendorCrypto(k.id!).unwrapKey('RSA-OAEP-256', wrapped.result));
    expect([gone.statusCode, gone.code]).toEqual([404, 'KeyNotFound']);
    const deleted = await keys.getDeletedKey('recoverable');
    expect(deleted.properties.recoveryId).toBe(`${az.vaultUrl}/deletedkeys/recoverable`);
    expect(deleted.properties.scheduledPurgeDate!.getTime()).toBeGreaterThan(Date.now() + 89 * 86400_000);
    // A deleted name cannot be reused until purged or recovered.
    expect((await errOf(keys.createRsaKey('recoverable'))).statusCode).toBe(409);
    const recovered = await (await keys.beginRecoverDeletedKey('recoverable', { intervalInMs: 10 })).pollUntilDone();
    expect(recovered.properties.version).toBe(k.properties.version);
    const back = await vendorCrypto(k.id!).unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(back.result.length).toBe(32);
  });

  it('purgeDeletedKey: a purged key is gone for good (404 on the key and on the deleted key; the name is free again)', async () => {
    const keys = az.customerKeys();
    const k = await keys.createRsaKey('purgeable', { keyOps: ['wrapKey', 'unwrapKey'] });
    await az.grantVendor('purgeable');
    const wrapped = await vendorCrypto(k.id!).wrapKey('RSA-OAEP-256', randomBytes(32));
    await (await keys.beginDeleteKey('purgeable', { intervalInMs: 10 })).pollUntilDone();
    await keys.purgeDeletedKey('purgeable');
    expect((await errOf(keys.getDeletedKey('purgeable'))).statusCode).toBe(404);
    const gone = await errOf(vendorCrypto(k.id!).unwrapKey('RSA-OAEP-256', wrapped.result));
    expect([gone.statusCode, gone.code]).toEqual([404, 'KeyNotFound']);
    const again = await keys.createRsaKey('purgeable');
    expect(again.properties.version).not.toBe(k.properties.version);
    // Purging a key that is not deleted is 404 too.
    expect((await errOf(keys.purgeDeletedKey('never-deleted'))).statusCode).toBe(404);
  });

  it('date-time controlled operations: outside nbf/exp wrapKey is 403 Forbidden while unwrapKey keeps working', async () => {
    const keys = az.customerKeys();
    const k = await keys.createRsaKey('expiring', { keyOps: ['wrapKey', 'unwrapKey'] });
    // Without `get` the SDK cannot fetch the public key to wrap locally: every wrap goes to the vault.
    await az.grantVendor('expiring', ['wrapKey', 'unwrapKey']);
    const wrapped = await vendorCrypto(k.id!).wrapKey('RSA-OAEP-256', randomBytes(32));
    const expired = await keys.updateKeyProperties('expiring', k.properties.version!, {
      expiresOn: new Date(Date.now() - 60_000),
    });
    expect(expired.properties.expiresOn!.getTime()).toBeLessThan(Date.now());
    const refused = await errOf(vendorCrypto(k.id!).wrapKey('RSA-OAEP-256', randomBytes(32)));
    expect(refused.statusCode).toBe(403);
    expect(refused.code).toBe('Forbidden');
    expect(refused.message).toMatch(/expired key/);
    expect((await vendorCrypto(k.id!).unwrapKey('RSA-OAEP-256', wrapped.result)).result.length).toBe(32);
    await keys.updateKeyProperties('expiring', k.properties.version!, {
      expiresOn: new Date(Date.now() + 3600_000),
      notBefore: new Date(Date.now() + 600_000),
    });
    expect((await errOf(vendorCrypto(k.id!).wrapKey('RSA-OAEP-256', randomBytes(32)))).message).toMatch(
      /not yet valid/,
    );
    expect((await vendorCrypto(k.id!).unwrapKey('RSA-OAEP-256', wrapped.result)).result.length).toBe(32);
  });

  it("api-version allow-list: an unknown version is 400 BadParameter in Key Vault error shape; the SDK's own versions work", async () => {
    await az.customerKeys().createRsaKey('versioned');
    // Through the SDK, pinned to a version the service never published:
    const pinned = az.keysAsVersion(d.customerAdminClientId, d.customerAdminClientSecret, '9.9');
    const e = await errOf(pinned.getKey('versioned'));
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe('BadParameter');
    expect(e.message).toMatch(/The specified version \(9\.9\) is not recognized/);
    expect(
      (await az.keysAsVersion(d.customerAdminClientId, d.customerAdminClientSecret, '7.4').getKey('versioned')).name,
    ).toBe('versioned');
  });

  it('access-policy vault: an identity without the permission gets 403 Forbidden, inner AccessDenied, naming the permission', async () => {
    const keys = az.customerKeys();
    const k = await keys.createRsaKey('policy-vault', { keyOps: ['wrapKey', 'unwrapKey'] });
    await az.revokeVendor('*');
    await az.grantVendor('*', ['get']);
    await az.admin('PUT', '/azure/permission-model', { model: 'accessPolicy' });
    const e = await errOf(vendorCrypto(k.id!).unwrapKey('RSA-OAEP-256', randomBytes(256)));
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe('Forbidden');
    expect(e.details?.error?.innerError?.code).toBe('AccessDenied');
    expect(e.message).toMatch(/does not have keys unwrapKey permission on key vault/);
    await az.revokeVendor('*');
  });

  it('firewall: every data-plane call of an authenticated caller is 403 Forbidden, inner ForbiddenByFirewall', async () => {
    const keys = az.customerKeys();
    await keys.createRsaKey('walled');
    await az.admin('PUT', '/azure/firewall', { enabled: true });
    const e = await errOf(keys.getKey('walled'));
    expect(e.statusCode).toBe(403);
    expect(e.details?.error?.innerError?.code).toBe('ForbiddenByFirewall');
    expect(e.message).toMatch(/^Client address is not authorized and caller is not a trusted service\./);
  });

  it('propagation: a revoked role assignment is still honoured during the delay, then flaps old/new (seeded), then holds', async () => {
    const keys = az.customerKeys();
    const k = await keys.createRsaKey('propagating', { keyOps: ['wrapKey', 'unwrapKey'] });
    await az.grantVendor('propagating');
    const wrapped = (await vendorCrypto(k.id!).wrapKey('RSA-OAEP-256', randomBytes(32))).result;
    const set = await az.admin('PUT', '/propagation/azure', { delayMs: 300, flapMs: 1500, seed: 7 });
    expect(set.status).toBe(200);
    await az.revokeVendor('propagating');
    const c = vendorCrypto(k.id!);
    const outcome = async () =>
      c.unwrapKey('RSA-OAEP-256', wrapped).then(
        () => 'ok',
        (e: unknown) => {
          const f = e as { code?: string; details?: { error?: { innerError?: { code?: string } } } };
          return String(f.details?.error?.innerError?.code ?? f.code);
        },
      );
    expect(await outcome()).toBe('ok'); // within the delay: the old assignment still answers
    await new Promise((r) => setTimeout(r, 350));
    const seen = new Set<string>();
    const until = Date.now() + 1200;
    while (Date.now() < until) seen.add(await outcome());
    expect(seen).toEqual(new Set(['ok', 'ForbiddenByRbac']));
    await new Promise((r) => setTimeout(r, Math.max(0, until + 600 - Date.now())));
    for (let i = 0; i < 5; i++) expect(await outcome()).toBe('ForbiddenByRbac');
    const listed = await az.admin('GET', '/propagation');
    expect(listed.body.propagation[0]).toMatchObject({ cloud: 'azure', delayMs: 300, flapMs: 1500, seed: 7 });
    expect(listed.body.propagation[0].served.old).toBeGreaterThan(0);
  });

  it('token audience: a token issued for another resource is 401 AKV10022 "Invalid audience" with a fresh challenge', async () => {
    await az.customerKeys().createRsaKey('audience');
    const token = await az.tokenFor(
      d.customerAdminClientId,
      d.customerAdminClientSecret,
      'https://management.azure.com/.default',
    );
    const res = await az.rawVault('GET', '/keys/audience?api-version=7.4', token);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(
      /^AKV10022: Invalid audience\. Expected https:\/\/vault\.localhost, found: https:\/\/management\.azure\.com\.$/,
    );
    expect(res.headers['www-authenticate']).toMatch(
      /^Bearer authorization=".*", resource="https:\/\/vault\.localhost"/,
    );
    const ok = await az.rawVault(
      'GET',
      '/keys/audience?api-version=7.4',
      await az.tokenFor(d.customerAdminClientId, d.customerAdminClientSecret, 'https://vault.localhost/.default'),
    );
    expect(ok.status).toBe(200);
  });

  it('a disabled vendor application: the token endpoint answers 400 unauthorized_client AADSTS7000112 (OAuth shape)', async () => {
    expect((await az.admin('PUT', `/azure/principals/${d.vendorClientId}/enabled`, { enabled: false })).status).toBe(
      200,
    );
    try {
      const e = await errOf(az.keysAs(d.vendorClientId, d.vendorClientSecret).getKey('anything'));
      // @azure/identity (MSAL) surfaces the OAuth error word and the AADSTS description in its message.
      expect(e.name).toBe('AuthenticationRequiredError');
      expect(e.message).toMatch(/^unauthorized_client: .*AADSTS7000112: Application '[^']+'\(.*\) is disabled\./);
    } finally {
      await az.admin('PUT', `/azure/principals/${d.vendorClientId}/enabled`, { enabled: true });
    }
    expect(await az.tokenFor(d.vendorClientId, d.vendorClientSecret, 'https://vault.localhost/.default')).toMatch(
      /^ey/,
    );
  });
});
