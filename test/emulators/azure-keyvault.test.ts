import { randomBytes } from 'node:crypto';
import { request as httpsRequest, Agent } from 'node:https';
import { ClientSecretCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { agentPolicy, createAzureAgent } from '../../libs/provider-azure/src';
import { AzureEmulatorHarness, startAzureEmulator } from '../support/azure-emulator';

/** The Azure emulator driven only through @azure/keyvault-keys + @azure/identity (challenge verification on). */
describe('Azure Key Vault emulator through the official SDKs', () => {
  let az: AzureEmulatorHarness;
  const d = AZURE_EMULATOR_DEFAULTS;
  beforeAll(async () => {
    az = await startAzureEmulator();
  });
  afterAll(async () => az?.close());

  const errOf = async (p: Promise<unknown>): Promise<any> =>
    p.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e,
    );

  it('key lifecycle: create, get, versions, disable, rotate, delete', async () => {
    const keys = az.customerKeys();
    const created = await keys.createRsaKey('lifecycle', { keySize: 2048, keyOps: ['wrapKey', 'unwrapKey'] });
    expect(created.id).toMatch(new RegExp(`^${az.vaultUrl}/keys/lifecycle/[0-9a-f]{32}$`));
    expect(created.keyType).toBe('RSA');
    expect(created.key?.n?.length).toBe(256);
    const got = await keys.getKey('lifecycle');
    expect(got.properties.version).toBe(created.properties.version);
    const rotated = await keys.rotateKey('lifecycle');
    expect(rotated.properties.version).not.toBe(created.properties.version);
    const versions: string[] = [];
    for await (const p of keys.listPropertiesOfKeyVersions('lifecycle')) versions.push(p.version!);
    expect(versions.sort()).toEqual([created.properties.version, rotated.properties.version].sort());
    const disabled = await keys.updateKeyProperties('lifecycle', rotated.properties.version!, { enabled: false });
    expect(disabled.properties.enabled).toBe(false);
    const poller = await keys.beginDeleteKey('lifecycle', { intervalInMs: 10 });
    await poller.pollUntilDone();
    const gone = await errOf(keys.getKey('lifecycle'));
    expect(gone.statusCode).toBe(404);
    expect(gone.code).toBe('KeyNotFound');
  });

  it('key tags: set at create and by updateKeyProperties (replacing the set), read back by getKey, kept on rotation, refused to the vendor app', async () => {
    const keys = az.customerKeys();
    const created = await keys.createRsaKey('tagged', { keySize: 2048, tags: { env: 'prod' } });
    expect(created.properties.tags).toEqual({ env: 'prod' });
    const untagged = await keys.createRsaKey('untagged', { keySize: 2048 });
    expect(untagged.properties.tags ?? {}).toEqual({});
    // Versionless update (the SDK's two-argument form) applies to the current version, like the az CLI.
    const updated = await keys.updateKeyProperties('tagged', {
      tags: { 'keyhold-external-id': 'ext-123', env: 'prod' },
    });
    expect(updated.properties.tags).toEqual({ 'keyhold-external-id': 'ext-123', env: 'prod' });
    expect((await keys.getKey('tagged')).properties.tags).toEqual({ 'keyhold-external-id': 'ext-123', env: 'prod' });
    const replaced = await keys.updateKeyProperties('tagged', created.properties.version!, { tags: { env: 'dev' } });
    expect(replaced.properties.tags).toEqual({ env: 'dev' });
    await keys.updateKeyProperties('tagged', { tags: { 'keyhold-external-id': 'ext-123' } });
    const rotated = await keys.rotateKey('tagged');
    expect(rotated.properties.tags).toEqual({ 'keyhold-external-id': 'ext-123' });
    const tooMany = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, 'v']));
    const refused = await errOf(keys.updateKeyProperties('tagged', { tags: tooMany }));
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe('BadParameter');
    // Keyhold's app holds get/wrapKey/unwrapKey only: it can read the tag but never set it.
    await az.grantVendor('tagged');
    const vendorKeys = az.keysAs(d.vendorClientId, d.vendorClientSecret);
    expect((await vendorKeys.getKey('tagged')).properties.tags).toEqual({ 'keyhold-external-id': 'ext-123' });
    const forbidden = await errOf(
      vendorKeys.updateKeyProperties('tagged', { tags: { 'keyhold-external-id': 'someone-else' } }),
    );
    expect(forbidden.statusCode).toBe(403);
    expect((await keys.getKey('tagged')).properties.tags).toEqual({ 'keyhold-external-id': 'ext-123' });
  });

  it('wraps and unwraps with RSA-OAEP-256 as the vendor app once granted; old versions keep unwrapping', async () => {
    const keys = az.customerKeys();
    const k = await keys.createRsaKey('wrapper', { keySize: 2048 });
    await az.grantVendor('wrapper');
    const secret = randomBytes(32);
    const vendor = az.cryptoAs(k.id!, d.vendorClientId, d.vendorClientSecret);
    const wrapped = await vendor.wrapKey('RSA-OAEP-256', secret);
    expect(wrapped.keyID).toBe(k.id);
    const back = await vendor.unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(Buffer.from(back.result).equals(secret)).toBe(true);
    await keys.rotateKey('wrapper');
    const again = await az
      .cryptoAs(k.id!, d.vendorClientId, d.vendorClientSecret)
      .unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(Buffer.from(again.result).equals(secret)).toBe(true);
    // a tampered ciphertext is 400 BadParameter, as in Key Vault
    const tampered = Buffer.from(wrapped.result);
    tampered[10] ^= 1;
    const bad = await errOf(vendor.unwrapKey('RSA-OAEP-256', tampered));
    expect(bad.statusCode).toBe(400);
    expect(bad.code).toBe('BadParameter');
  });

  it('refuses a principal without a grant (403 ForbiddenByRbac) and a disabled key (403 KeyDisabled)', async () => {
    const keys = az.customerKeys();
    const k = await keys.createRsaKey('guarded', { keySize: 2048 });
    const vendor = az.cryptoAs(k.id!, d.vendorClientId, d.vendorClientSecret);
    const denied = await errOf(vendor.wrapKey('RSA-OAEP-256', randomBytes(32)));
    expect(denied.statusCode).toBe(403);
    expect(denied.details?.error?.innererror?.code ?? denied.details?.error?.innerError?.code).toBe('ForbiddenByRbac');
    await az.grantVendor('guarded');
    await keys.updateKeyProperties('guarded', k.properties.version!, { enabled: false });
    const disabled = await errOf(
      az.cryptoAs(k.id!, d.vendorClientId, d.vendorClientSecret).wrapKey('RSA-OAEP-256', randomBytes(32)),
    );
    expect(disabled.statusCode).toBe(403);
    expect(JSON.stringify(disabled.details)).toContain('KeyDisabled');
  });

  it('refuses a wrong client secret at the token endpoint (invalid_client)', async () => {
    const k = await az.customerKeys().createRsaKey('secretive', { keySize: 2048 });
    await az.grantVendor('secretive');
    const err = await errOf(
      az.cryptoAs(k.id!, d.vendorClientId, 'not-the-secret').wrapKey('RSA-OAEP-256', randomBytes(32)),
    );
    expect(err.name).toMatch(/^Authentication(Required)?Error$/);
    expect(String(err.message)).toMatch(/invalid_client/);
    expect(String(err.message)).toMatch(/AADSTS7000215/);
  });

  it('keeps challenge resource verification on: a vault host outside the challenge resource is refused by the SDK', async () => {
    // Reaching the same emulator by its IP: the challenge names https://vault.localhost, which 127.0.0.1 is not under.
    const agent = createAzureAgent({ tlsCaPem: az.caPem, allowedEmulatorHosts: [] });
    const port = new URL(az.authorityHost).port;
    const cred = new ClientSecretCredential(d.customerTenantId, d.customerAdminClientId, d.customerAdminClientSecret, {
      authorityHost: az.authorityHost,
      disableInstanceDiscovery: true,
      additionalPolicies: [{ policy: agentPolicy(agent), position: 'perCall' }],
    });
    const byIp = new KeyClient(`https://127.0.0.1:${port}`, cred, {
      additionalPolicies: [{ policy: agentPolicy(agent), position: 'perCall' }],
      retryOptions: { maxRetries: 0 },
    });
    const err = await errOf(byIp.getKey('anything'));
    expect(String(err.message)).toMatch(/challenge resource/);
    agent.destroy();
  });

  it('surfaces throttling (429 + Retry-After) and 5xx after the SDK retries, applies latency, counts exactly', async () => {
    const k = await az.customerKeys().createRsaKey('faulty', { keySize: 2048 });
    await az.grantVendor('faulty');
    const vendor = az.cryptoAs(k.id!, d.vendorClientId, d.vendorClientSecret, 1);
    await vendor.wrapKey('RSA-OAEP-256', randomBytes(32)); // warm: token + key fetched
    az.counters.reset();
    const t = az.faults.add({ cloud: 'azure', operation: 'wrapKey', kind: 'throttle' });
    const throttled = await errOf(vendor.wrapKey('RSA-OAEP-256', randomBytes(32)));
    expect(throttled.statusCode).toBe(429);
    expect(az.counters.total({ cloud: 'azure', operation: 'wrapKey', outcome: 'fault:throttle' })).toBe(2); // 1 retry
    az.faults.remove(t.id);
    const e = az.faults.add({ cloud: 'azure', operation: 'wrapKey', kind: 'error', count: 1 });
    const ok = await vendor.wrapKey('RSA-OAEP-256', randomBytes(32)); // the 503 is retried and then succeeds
    expect(ok.result.length).toBe(256);
    az.faults.remove(e.id);
    az.faults.add({ cloud: 'azure', operation: 'unwrapKey', kind: 'latency', latencyMs: 150 });
    const wrapped = await vendor.wrapKey('RSA-OAEP-256', randomBytes(32));
    const started = Date.now();
    await vendor.unwrapKey('RSA-OAEP-256', wrapped.result);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    az.faults.clear();
    const vendorPrincipal = `${d.customerTenantId}/${d.vendorClientId}`;
    expect(az.counters.total({ cloud: 'azure', operation: 'wrapKey', principal: vendorPrincipal, outcome: 'ok' })).toBe(
      2,
    );
    expect(
      az.counters.total({ cloud: 'azure', operation: 'unwrapKey', principal: vendorPrincipal, outcome: 'ok' }),
    ).toBe(1);
  });
  it('speaks Key Vault on the wire: api-version (also percent-encoded) required, Throttled with Retry-After, tampered tokens refused', async () => {
    const agent = createAzureAgent({
      tlsCaPem: az.caPem,
      allowedEmulatorHosts: [{ host: d.vaultHost, port: Number(new URL(az.vaultUrl).port), connectHost: '127.0.0.1' }],
    });
    try {
      const token = await raw(
        agent,
        'POST',
        `${az.authorityHost}/${d.customerTenantId}/oauth2/v2.0/token`,
        {
          'content-type': 'application/x-www-form-urlencoded',
        },
        new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: d.vendorClientId,
          client_secret: d.vendorClientSecret,
          scope: `${d.resource}/.default`,
        }).toString(),
      );
      expect(token.status).toBe(200);
      const auth = { authorization: `Bearer ${JSON.parse(token.body).access_token}` };
      const missing = await raw(agent, 'GET', `${az.vaultUrl}/keys/nope/`, auth);
      expect(missing.status).toBe(400);
      expect(JSON.parse(missing.body).error.code).toBe('BadParameter');
      const encoded = await raw(agent, 'GET', `${az.vaultUrl}/keys/nope/?api%2Dversion=7.5`, auth);
      expect(encoded.status).toBe(403); // past the api-version check; the vendor has no grant on "nope"
      expect(JSON.parse(encoded.body).error.innererror.code).toBe('ForbiddenByRbac');
      const f = az.faults.add({ cloud: 'azure', operation: 'getKey', kind: 'throttle' });
      const throttled = await raw(agent, 'GET', `${az.vaultUrl}/keys/nope/?api-version=7.5`, auth);
      az.faults.remove(f.id);
      expect(throttled.status).toBe(429);
      expect(throttled.headers['retry-after']).toBe('1');
      expect(JSON.parse(throttled.body).error.code).toBe('Throttled');
      // Claims altered after signing (here the expiry): the signature no longer holds, 401 with a fresh challenge.
      const [h, p] = JSON.parse(token.body).access_token.split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: 1 })).toString('base64url')}.x`;
      const bad = await raw(agent, 'GET', `${az.vaultUrl}/keys/nope/?api-version=7.5`, {
        authorization: `Bearer ${forged}`,
      });
      expect(bad.status).toBe(401);
      expect(bad.headers['www-authenticate']).toContain(`authorization="${az.authorityHost}/${d.customerTenantId}"`);
      expect(JSON.parse(bad.body).error).toEqual({ code: 'Unauthorized', message: 'The access token is invalid.' });
    } finally {
      agent.destroy();
    }
  });
});

function raw(
  agent: Agent,
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, agent, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
