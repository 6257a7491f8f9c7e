import { randomBytes } from 'node:crypto';
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

  const errOf = async (p: Promise<unknown>): Promise<any> => p.then(() => { throw new Error('expected a failure'); }, (e) => e);

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
    const again = await az.cryptoAs(k.id!, d.vendorClientId, d.vendorClientSecret).unwrapKey('RSA-OAEP-256', wrapped.result);
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
    const disabled = await errOf(az.cryptoAs(k.id!, d.vendorClientId, d.vendorClientSecret).wrapKey('RSA-OAEP-256', randomBytes(32)));
    expect(disabled.statusCode).toBe(403);
    expect(JSON.stringify(disabled.details)).toContain('KeyDisabled');
  });

  it('refuses a wrong client secret at the token endpoint (invalid_client)', async () => {
    const k = await az.customerKeys().createRsaKey('secretive', { keySize: 2048 });
    await az.grantVendor('secretive');
    const err = await errOf(az.cryptoAs(k.id!, d.vendorClientId, 'not-the-secret').wrapKey('RSA-OAEP-256', randomBytes(32)));
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
    const byIp = new KeyClient(`https://127.0.0.1:${port}`, cred, { additionalPolicies: [{ policy: agentPolicy(agent), position: 'perCall' }], retryOptions: { maxRetries: 0 } });
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
    expect(az.counters.total({ cloud: 'azure', operation: 'wrapKey', principal: vendorPrincipal, outcome: 'ok' })).toBe(2);
    expect(az.counters.total({ cloud: 'azure', operation: 'unwrapKey', principal: vendorPrincipal, outcome: 'ok' })).toBe(1);
  });
});
