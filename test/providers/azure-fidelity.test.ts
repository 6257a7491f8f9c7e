import { request } from 'node:https';
import { ProviderCallObserver, ProviderError } from '@app/provider-port';
import { OWNERSHIP_TAG, createAzureProvider, parseAzureKeyConfigInput } from '@app/provider-azure';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { AzureEmulatorHarness, startAzureEmulator } from '../support/azure-emulator';

/**
 * Azure answers that feed the shred decision, as the real services give them:
 *  - Key Vault refuses a GET of a disabled key (version) with 403 Forbidden, inner error KeyDisabled, "Operation get
 *    is not allowed on a disabled key." — listing the versions still shows their attributes;
 *  - the Microsoft Entra token endpoint signals throttling of the client-credentials grant with 429 and
 *    Retry-After, and its errors are OAuth 2.0 error responses ({error, error_description, error_codes}), not Key
 *    Vault's {error: {code, message}}.
 * And what Keyhold makes of them: a disabled key is described as `disabled` (a revocation candidate the probes
 * confirm); an Entra 429 is `throttled` and an Entra 5xx `unavailable` (transient, never a revocation, never
 * "misconfigured").
 */
let az: AzureEmulatorHarness;
beforeAll(async () => {
  az = await startAzureEmulator();
});
afterAll(async () => az?.close());
afterEach(() => az.faults.clear());

const tenantId = AZURE_EMULATOR_DEFAULTS.customerTenantId;
// The key's owner tags it for this (test) Keyhold tenant, as the wizard tells customers to.
const EXTERNAL_ID = 'fidelity-test-external-id-0123456789';
async function key(name: string) {
  await az.customerKeys().createRsaKey(name, { keySize: 2048, tags: { [OWNERSHIP_TAG]: EXTERNAL_ID } });
  await az.grantVendor(name);
  return parseAzureKeyConfigInput({ keyId: `${az.vaultUrl}/keys/${name}`, tenantId }, az.settings(), EXTERNAL_ID);
}

function tokenRequest(): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | undefined }> {
  const url = new URL(`${az.authorityHost}/${tenantId}/oauth2/v2.0/token`);
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: 'x',
    client_secret: 'y',
    scope: 'https://vault.azure.net/.default',
  }).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: az.caPem,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(text || '{}'),
            retryAfter: res.headers['retry-after'],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}

it('GET of a disabled key is 403 Forbidden / KeyDisabled through the SDK; its versions still list', async () => {
  await key('fid-disabled');
  expect((await az.admin('POST', '/azure/keys/fid-disabled/enabled', { enabled: false })).status).toBe(200);
  const err = (await az
    .customerKeys()
    .getKey('fid-disabled')
    .then(
      () => null,
      (e: unknown) => e,
    )) as {
    statusCode?: number;
    code?: string;
    message?: string;
    details?: { error?: { innerError?: { code?: string } } };
  } | null;
  expect(err).not.toBeNull();
  expect(err!.statusCode).toBe(403);
  expect(err!.code).toBe('Forbidden');
  expect(err!.message).toBe('Operation get is not allowed on a disabled key.');
  expect(err!.details?.error?.innerError?.code).toBe('KeyDisabled'); // the SDK's name for the wire's innererror
  const versions = [];
  for await (const v of az.customerKeys().listPropertiesOfKeyVersions('fid-disabled')) versions.push(v);
  expect(versions.map((v) => v.enabled)).toEqual([false]);
});

it('Keyhold describes a disabled key as disabled (what the probe turns into key_disabled), and an enabled one as enabled', async () => {
  const provider = createAzureProvider(az.settings(), new ProviderCallObserver());
  try {
    const config = await key('fid-describe');
    expect((await provider.describe(config, { tenantId: 't' })).state).toBe('enabled');
    await az.admin('POST', '/azure/keys/fid-describe/enabled', { enabled: false });
    const d = await provider.describe(config, { tenantId: 't' });
    expect(d.state).toBe('disabled');
    await az.admin('POST', '/azure/keys/fid-describe/enabled', { enabled: true });
    expect((await provider.describe(config, { tenantId: 't' })).state).toBe('enabled');
  } finally {
    await provider.close();
  }
});

it('the Entra token endpoint answers faults in the OAuth shape: 429 + Retry-After when throttled, 503 when unavailable', async () => {
  // On the wire (what @azure/identity parses): OAuth error fields, and Retry-After on the 429.
  for (const [kind, status] of [
    ['throttle', 429],
    ['error', 503],
  ] as const) {
    az.faults.add({ cloud: 'azure', operation: 'token', kind });
    const res = await tokenRequest();
    az.faults.clear();
    expect(res.status).toBe(status);
    expect(res.body).toEqual(
      expect.objectContaining({ error: 'temporarily_unavailable', error_description: expect.any(String) }),
    );
    expect(res.body).not.toHaveProperty('error.code'); // not Key Vault's {error: {code, message}}
    if (status === 429) expect(Number(res.retryAfter)).toBeGreaterThan(0);
  }
  for (const kind of ['throttle', 'error'] as const) {
    const provider = createAzureProvider(az.settings(), new ProviderCallObserver());
    try {
      const config = await key(`fid-entra-${kind}`);
      az.faults.add({ cloud: 'azure', operation: 'token', kind });
      const err = await provider.describe(config, { tenantId: 't' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProviderError);
      // Transient either way (MSAL keeps no status code, and replays a 429 from its own throttling cache): never
      // "misconfigured", never a revocation.
      expect({ kind, transient: ['throttled', 'unavailable'].includes((err as ProviderError).errorClass) }).toEqual({
        kind,
        transient: true,
      });
    } finally {
      az.faults.clear();
      await provider.close();
    }
  }
});

const classOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof ProviderError ? e.errorClass : `not a ProviderError: ${String(e)}`),
  );

it('a soft-deleted key is described as pending_deletion (revoked, recoverable by its owner); recovered it is enabled again; purged it is key_not_found', async () => {
  const provider = createAzureProvider(az.settings(), new ProviderCallObserver());
  try {
    const config = await key('fid-softdelete');
    const ctx = {
      tenantId: 't',
      workspaceId: 'w',
      keyConfigurationId: 'kc',
      kekVersion: 1,
      purpose: 'workspace-kek' as const,
    };
    const wrapped = await provider.wrap(config, Buffer.alloc(32, 7), ctx);
    expect((await az.admin('DELETE', '/azure/keys/fid-softdelete')).status).toBe(204);
    expect((await provider.describe(config, { tenantId: 't' })).state).toBe('pending_deletion');
    expect(await classOf(provider.unwrap(config, wrapped, ctx))).toBe('key_not_found');
    expect((await az.admin('POST', '/azure/deletedkeys/fid-softdelete/recover')).status).toBe(200);
    expect((await provider.describe(config, { tenantId: 't' })).state).toBe('enabled');
    expect((await provider.unwrap(config, wrapped, ctx)).equals(Buffer.alloc(32, 7))).toBe(true);
    await az.admin('DELETE', '/azure/keys/fid-softdelete');
    expect((await az.admin('DELETE', '/azure/deletedkeys/fid-softdelete')).status).toBe(204);
    expect(await classOf(provider.describe(config, { tenantId: 't' }))).toBe('key_not_found');
  } finally {
    await provider.close();
  }
});

it('an expired (or not yet valid) key refuses new wraps as invalid_key_usage, never a revocation class, and keeps unwrapping', async () => {
  const provider = createAzureProvider(az.settings(), new ProviderCallObserver());
  try {
    const config = await key('fid-expired');
    const ctx = {
      tenantId: 't',
      workspaceId: 'w',
      keyConfigurationId: 'kc',
      kekVersion: 1,
      purpose: 'workspace-kek' as const,
    };
    const wrapped = await provider.wrap(config, Buffer.alloc(32, 9), ctx);
    expect(
      (await az.admin('PATCH', '/azure/keys/fid-expired', { exp: Math.floor(Date.now() / 1000) - 60 })).status,
    ).toBe(200);
    expect(await classOf(provider.wrap(config, Buffer.alloc(32, 1), ctx))).toBe('invalid_key_usage');
    expect((await provider.unwrap(config, wrapped, ctx)).equals(Buffer.alloc(32, 9))).toBe(true);
    expect((await provider.describe(config, { tenantId: 't' })).state).toBe('enabled');
    // A Keyhold process that starts after the key expired (fresh SDK clients) must still unwrap: Key Vault documents
    // unwrapKey as allowed outside nbf/exp, and the SDK's own local validity check must not refuse it first.
    const restarted = createAzureProvider(az.settings(), new ProviderCallObserver());
    try {
      expect((await restarted.unwrap(config, wrapped, ctx)).equals(Buffer.alloc(32, 9))).toBe(true);
    } finally {
      await restarted.close();
    }
    await az.admin('PATCH', '/azure/keys/fid-expired', { exp: null, nbf: Math.floor(Date.now() / 1000) + 600 });
    expect(await classOf(provider.wrap(config, Buffer.alloc(32, 1), ctx))).toBe('invalid_key_usage');
  } finally {
    await provider.close();
  }
});

it('a vault firewall refusal is ambiguous and an access-policy refusal access_denied: only the latter is a revocation class', async () => {
  const provider = createAzureProvider(az.settings(), new ProviderCallObserver());
  try {
    const config = await key('fid-network');
    await az.admin('PUT', '/azure/firewall', { enabled: true });
    expect(await classOf(provider.describe(config, { tenantId: 't' }))).toBe('ambiguous');
    await az.admin('PUT', '/azure/firewall', { enabled: false });
    await az.revokeVendor('*');
    await az.admin('PUT', '/azure/permission-model', { model: 'accessPolicy' });
    expect(await classOf(provider.describe(config, { tenantId: 't' }))).toBe('access_denied');
  } finally {
    await az.admin('PUT', '/azure/permission-model', { model: 'rbac' });
    await provider.close();
  }
});

it('a disabled vendor application (AADSTS7000112) is ambiguous, never a revocation class', async () => {
  const provider = createAzureProvider(az.settings(), new ProviderCallObserver());
  const config = await key('fid-disabled-app');
  await az.admin('PUT', `/azure/principals/${AZURE_EMULATOR_DEFAULTS.vendorClientId}/enabled`, { enabled: false });
  try {
    const err = await provider.describe(config, { tenantId: 't' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).errorClass).toBe('ambiguous');
    expect((err as ProviderError).providerCode).toBe('AADSTS7000112');
  } finally {
    await az.admin('PUT', `/azure/principals/${AZURE_EMULATOR_DEFAULTS.vendorClientId}/enabled`, { enabled: true });
    await provider.close();
  }
});
