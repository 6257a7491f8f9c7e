import { randomBytes } from 'node:crypto';
import { createServer as createHttp, Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ProviderCallObserver, ProviderError, runValidation, WrapContext } from '@app/provider-port';
import {
  AzureKeyVaultProvider,
  createAzureProvider,
  OWNERSHIP_TAG,
  parseAzureKeyConfigInput,
} from '@app/provider-azure';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { loadOrCreateTls } from '../../apps/kms-emulator/src/core/tls';
import { AzureEmulatorHarness, startAzureEmulator } from '../support/azure-emulator';

/** Keyhold's Azure binding against the Azure emulator through the real SDKs. */
describe('Azure provider binding', () => {
  let az: AzureEmulatorHarness;
  let provider: AzureKeyVaultProvider;
  const observer = new ProviderCallObserver();
  const events: string[] = [];
  observer.subscribe((e) => events.push(`${e.operation}:${e.outcome}`));
  const tenantId = AZURE_EMULATOR_DEFAULTS.customerTenantId;
  const ctx: WrapContext = {
    tenantId: 't-1',
    workspaceId: 'w-1',
    keyConfigurationId: 'kc-1',
    kekVersion: 1,
    purpose: 'workspace-kek',
  };
  /** This Keyhold tenant's ExternalId; the customer tags their key with it. */
  const EXTERNAL_ID = `ext-${randomBytes(12).toString('hex')}`;
  const OTHER_EXTERNAL_ID = `ext-${randomBytes(12).toString('hex')}`;
  const parse = (keyId: string) => parseAzureKeyConfigInput({ keyId, tenantId }, az.settings(), EXTERNAL_ID);

  beforeAll(async () => {
    az = await startAzureEmulator();
    provider = createAzureProvider(az.settings(), observer);
  });
  afterAll(async () => {
    await provider?.close();
    await az?.close();
  });

  async function newKey(name: string, grant = true, tag: string | null = EXTERNAL_ID) {
    const k = await az
      .customerKeys()
      .createRsaKey(name, { keySize: 2048, ...(tag ? { tags: { [OWNERSHIP_TAG]: tag } } : {}) });
    if (grant) await az.grantVendor(name);
    return { config: parse(`${az.vaultUrl}/keys/${name}`), version: k.properties.version! };
  }
  const classOf = async (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e instanceof ProviderError ? e.errorClass : `unclassified:${(e as Error).name}`),
    );

  it('wraps and unwraps a KEK with the context bound; a swapped context is invalid_ciphertext', async () => {
    const { config, version } = await newKey('round-trip');
    const kek = randomBytes(32);
    const wrapped = await provider.wrap(config, kek, ctx);
    expect(wrapped.keyVersion).toBe(version);
    expect(wrapped.ciphertext.includes(kek)).toBe(false);
    const back = await provider.unwrap(config, wrapped, ctx);
    expect(back.equals(kek)).toBe(true);
    for (const other of [
      { ...ctx, workspaceId: 'w-2' },
      { ...ctx, tenantId: 't-2' },
      { ...ctx, kekVersion: 2 },
      { ...ctx, keyConfigurationId: 'kc-2' },
    ])
      expect(await classOf(provider.unwrap(config, wrapped, other))).toBe('invalid_ciphertext');
    expect(events).toEqual(expect.arrayContaining(['wrap:ok', 'unwrap:ok', 'unwrap:invalid_ciphertext']));
  });

  it('tracks key versions: after rotation wraps use the new version and old wrapped KEKs still unwrap', async () => {
    const { config, version } = await newKey('rotating');
    const kek = randomBytes(32);
    const before = await provider.wrap(config, kek, ctx);
    const rotated = await az.admin('POST', '/azure/keys/rotating/rotate');
    const newVersion = rotated.body.key.kid.split('/').pop();
    const described = await provider.describe(config, { tenantId: 't-1' });
    expect(described.currentVersion).toBe(newVersion);
    const after = await provider.wrap(config, kek, ctx);
    expect(after.keyVersion).toBe(newVersion);
    expect(before.keyVersion).toBe(version);
    expect((await provider.unwrap(config, before, ctx)).equals(kek)).toBe(true);
  });

  it('produces each error class from a real emulator condition', async () => {
    // access_denied: grant removed (the customer's revocation)
    const revoked = await newKey('revoked');
    const w = await provider.wrap(revoked.config, randomBytes(32), ctx);
    await az.revokeVendor('revoked');
    expect(await classOf(provider.unwrap(revoked.config, w, ctx))).toBe('access_denied');
    // key_disabled
    const disabled = await newKey('disabled');
    const wd = await provider.wrap(disabled.config, randomBytes(32), ctx);
    await az.admin('POST', '/azure/keys/disabled/enabled', { enabled: false });
    expect(await classOf(provider.unwrap(disabled.config, wd, ctx))).toBe('key_disabled');
    // key_not_found: deleted key
    const deleted = await newKey('deleted');
    const wx = await provider.wrap(deleted.config, randomBytes(32), ctx);
    await az.admin('DELETE', '/azure/keys/deleted');
    expect(await classOf(provider.unwrap(deleted.config, wx, ctx))).toBe('key_not_found');
    // throttled / unavailable / hang / reset
    const flaky = await newKey('flaky');
    const wf = await provider.wrap(flaky.config, randomBytes(32), ctx);
    const rule = (kind: 'throttle' | 'error' | 'hang' | 'reset') =>
      az.faults.add({ cloud: 'azure', operation: 'unwrapKey', keyId: '/keys/flaky', kind });
    for (const [kind, expected] of [
      ['throttle', 'throttled'],
      ['error', 'unavailable'],
      ['reset', 'unavailable'],
    ] as const) {
      const r = rule(kind);
      expect(await classOf(provider.unwrap(flaky.config, wf, ctx))).toBe(expected);
      az.faults.remove(r.id);
    }
    const slow = createAzureProvider(az.settings({ requestTimeoutMs: 300 }), observer);
    const r = rule('hang');
    expect(await classOf(slow.unwrap(flaky.config, wf, ctx))).toBe('unavailable');
    az.faults.remove(r.id);
    await slow.close();
    // auth_misconfigured: the vendor's own secret is wrong — never a revocation
    const wrongSecret = createAzureProvider(az.settings({ vendorClientSecret: 'definitely-wrong' }), observer);
    expect(await classOf(wrongSecret.unwrap(flaky.config, wf, ctx))).toBe('auth_misconfigured');
    await wrongSecret.close();
    // ambiguous: the vendor app has no service principal in the tenant (AADSTS700016)
    const stranger = createAzureProvider(
      az.settings({ vendorClientId: '0f0f0f0f-0000-4000-8000-000000000000', vendorClientSecret: 'whatever-secret' }),
      observer,
    );
    expect(await classOf(stranger.unwrap(flaky.config, wf, ctx))).toBe('ambiguous');
    await stranger.close();
  });

  it('reports every validation check in words an admin can act on', async () => {
    const good = await newKey('valid-key');
    const ok = await runValidation(provider, good.config, { tenantId: 't-1', keyConfigurationId: 'kc-v' });
    expect(ok.ok).toBe(true);
    expect(ok.checks.map((c) => c.name)).toEqual([
      'identifier',
      'vault_tenant',
      'credentials',
      'key_ownership',
      'key_state',
      'key_usage',
      'round_trip',
      'context_binding',
    ]);

    const ungranted = await newKey('not-granted', false);
    const denied = await runValidation(provider, ungranted.config, { tenantId: 't-1', keyConfigurationId: 'kc-v' });
    expect(denied.ok).toBe(false);
    expect(denied.checks.find((c) => !c.ok)?.message).toMatch(/Key Vault Crypto Service Encryption User/);

    const off = await newKey('switched-off');
    await az.admin('POST', '/azure/keys/switched-off/enabled', { enabled: false });
    const disabled = await runValidation(provider, off.config, { tenantId: 't-1', keyConfigurationId: 'kc-v' });
    expect(disabled.checks.find((c) => c.name === 'key_state')?.message).toMatch(/disabled/);

    const signOnly = await az
      .customerKeys()
      .createRsaKey('sign-only', { keySize: 2048, keyOps: ['sign', 'verify'], tags: { [OWNERSHIP_TAG]: EXTERNAL_ID } });
    await az.grantVendor('sign-only');
    const usage = await runValidation(provider, parse(signOnly.id!.replace(/\/[0-9a-f]{32}$/, '')), {
      tenantId: 't-1',
      keyConfigurationId: 'kc-v',
    });
    expect(usage.checks.find((c) => c.name === 'key_usage')?.ok).toBe(false);
    expect(usage.checks.find((c) => c.name === 'key_usage')?.message).toMatch(/cannot wrap keys/);

    const wrongTenant = { ...good.config, tenantId: '11111111-2222-4333-8444-555555555555' };
    const t = await runValidation(provider, wrongTenant, { tenantId: 't-1', keyConfigurationId: 'kc-v' });
    expect(t.ok).toBe(false);
    expect(t.checks.find((c) => c.name === 'vault_tenant')?.message).toBe(
      `The vault belongs to Entra tenant ${tenantId}, not 11111111-2222-4333-8444-555555555555. Enter the directory (tenant) id that owns the vault.`,
    );
    expect(t.checks.find((c) => c.name === 'credentials')?.message).toMatch(/sign in to Entra tenant/);

    // The vendor app is present in a second tenant (sign-in works there), but the vault is not in it.
    const otherTenant = '22222222-3333-4444-8555-666666666666';
    const reg = await az.admin('POST', '/azure/principals', {
      clientId: AZURE_EMULATOR_DEFAULTS.vendorClientId,
      clientSecret: AZURE_EMULATOR_DEFAULTS.vendorClientSecret,
      tenants: [tenantId, otherTenant],
      displayName: 'Keyhold (vendor)',
    });
    expect(reg.status).toBe(201);
    const elsewhere = await runValidation(
      provider,
      { ...good.config, tenantId: otherTenant },
      { tenantId: 't-1', keyConfigurationId: 'kc-v' },
    );
    expect(elsewhere.ok).toBe(false);
    expect(elsewhere.checks.find((c) => c.name === 'credentials')?.ok).toBe(true);
    expect(elsewhere.checks.find((c) => c.name === 'vault_tenant')).toMatchObject({
      ok: false,
      errorClass: 'auth_misconfigured',
    });
  });

  it("ownership tag: validation, describe and wrap require this tenant's tag; no value of another tenant is echoed", async () => {
    const untagged = await newKey('own-untagged', true, null);
    const r1 = await runValidation(provider, untagged.config, { tenantId: 't-1', keyConfigurationId: 'kc-o' });
    expect(r1.ok).toBe(false);
    const c1 = r1.checks.find((c) => c.name === 'key_ownership')!;
    expect(c1).toMatchObject({ ok: false, errorClass: 'ownership_unproven' });
    expect(c1.message).toContain(
      `az keyvault key set-attributes --vault-name ${new URL(az.vaultUrl).hostname.split('.')[0]} --name own-untagged`,
    );
    expect(c1.message).toContain(`--tags ${OWNERSHIP_TAG}=${EXTERNAL_ID}`);
    // Validation stops at the failed ownership check: nothing is wrapped under a key that is not ours.
    expect(r1.checks.map((c) => c.name)).not.toContain('round_trip');

    const foreign = await newKey('own-foreign', true, OTHER_EXTERNAL_ID);
    const r2 = await runValidation(provider, foreign.config, { tenantId: 't-1', keyConfigurationId: 'kc-o' });
    const c2 = r2.checks.find((c) => c.name === 'key_ownership')!;
    expect(c2.ok).toBe(false);
    expect(c2.message).toMatch(/names another Keyhold tenant/);
    expect(JSON.stringify(r2)).not.toContain(OTHER_EXTERNAL_ID);
    expect(await classOf(provider.describe(foreign.config, { tenantId: 't-1' }))).toBe('ownership_unproven');
    expect(await classOf(provider.wrap(foreign.config, randomBytes(32), ctx))).toBe('ownership_unproven');
    // The same key is fine for the tenant it is tagged for.
    expect(
      await classOf(provider.describe({ ...foreign.config, externalId: OTHER_EXTERNAL_ID }, { tenantId: 't-1' })),
    ).toBe('ok');
    // A different case or surrounding spaces are not the tenant's value.
    await az
      .customerKeys()
      .updateKeyProperties('own-foreign', { tags: { [OWNERSHIP_TAG]: ` ${EXTERNAL_ID.toUpperCase()}` } });
    expect(await classOf(provider.describe(foreign.config, { tenantId: 't-1' }))).toBe('ownership_unproven');
  });

  it('ownership tag: unwrap trusts a positive check for the TTL only; a removed tag stops unwraps, a failed read is transient', async () => {
    const short = createAzureProvider(az.settings({ ownershipTtlMs: 400 }), observer);
    try {
      const { config } = await newKey('own-ttl');
      const kek = randomBytes(32);
      const wrapped = await short.wrap(config, kek, ctx);
      // The owner removes the tag (the only tag: an empty set).
      await az.customerKeys().updateKeyProperties('own-ttl', { tags: {} });
      expect((await short.unwrap(config, wrapped, ctx)).equals(kek)).toBe(true);
      await new Promise((r) => setTimeout(r, 450));
      const e = await short.unwrap(config, wrapped, ctx).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ProviderError);
      expect((e as ProviderError).errorClass).toBe('ownership_unproven');
      expect((e as ProviderError).revocationCandidate).toBe(false);
      expect((e as ProviderError).transient).toBe(false);
      // Restored: served again, and the positive check is remembered.
      await az.customerKeys().updateKeyProperties('own-ttl', { tags: { [OWNERSHIP_TAG]: EXTERNAL_ID } });
      expect((await short.unwrap(config, wrapped, ctx)).equals(kek)).toBe(true);
      await new Promise((r) => setTimeout(r, 450));
      // The tag read itself fails (vault throttling getKey): the unwrap fails transiently, never as a revocation.
      const rule = az.faults.add({ cloud: 'azure', operation: 'getKey', keyId: '/keys/own-ttl', kind: 'throttle' });
      const t = await short.unwrap(config, wrapped, ctx).catch((err: unknown) => err);
      az.faults.remove(rule.id);
      expect(t).toBeInstanceOf(ProviderError);
      expect((t as ProviderError).errorClass).toBe('throttled');
      expect((await short.unwrap(config, wrapped, ctx)).equals(kek)).toBe(true);
    } finally {
      await short.close();
    }
    // With a TTL of 0 every unwrap reads the tag.
    const strict = createAzureProvider(az.settings({ ownershipTtlMs: 0 }), observer);
    try {
      const { config } = await newKey('own-strict');
      const kek = randomBytes(32);
      const wrapped = await strict.wrap(config, kek, ctx);
      await az.customerKeys().updateKeyProperties('own-strict', { tags: { [OWNERSHIP_TAG]: OTHER_EXTERNAL_ID } });
      expect(await classOf(strict.unwrap(config, wrapped, ctx))).toBe('ownership_unproven');
    } finally {
      await strict.close();
    }
  });

  it('rejects every hostile key URL before any connection (SSRF corpus against live listeners)', async () => {
    let contacted = 0;
    const tls = loadOrCreateTls();
    const servers: Server[] = [
      createHttp(() => contacted++),
      createHttps({ key: tls.key, cert: tls.cert }, () => contacted++),
    ];
    for (const s of servers) {
      s.on('connection', () => contacted++);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    }
    const [hp, sp] = servers.map((s) => (s.address() as AddressInfo).port);
    const corpus = [
      `https://127.0.0.1:${sp}/keys/k`,
      `http://127.0.0.1:${hp}/keys/k`,
      `https://localhost:${sp}/keys/k`,
      `https://evil.example.com/keys/k`,
      `https://vault.azure.net.evil.com/keys/k`,
      `https://myvault.vault.azure.net.127.0.0.1.nip.io/keys/k`,
      `https://evilvault.azure.net/keys/k`,
      `https://myvault.vault.azure.net:${sp}/keys/k`,
      `https://myvault.vault.azure.net@127.0.0.1:${sp}/keys/k`,
      `https://user:pw@myvault.vault.azure.net/keys/k`,
      `https://myvault.vault.azure.net./keys/k`,
      `https://myvault.vault.azure。net/keys/k`,
      `https://myvault.vault.azure%2enet/keys/k`,
      `https://myvault.vault.azure.net\\@127.0.0.1/keys/k`,
      `https://myvault.vault.azure.net/keys/k?x=https://127.0.0.1:${sp}`,
      `https://myvault.vault.azure.net/keys/k#frag`,
      `https://myvault.vault.azure.net/keys/../../admin`,
      `https://myvault.vault.azure.net/secrets/k`,
      `https://[::1]:${sp}/keys/k`,
      `https://2130706433/keys/k`,
      `https://0x7f000001/keys/k`,
      `https://169.254.169.254/keys/k`,
      `file:///etc/passwd`,
      `javascript:alert(1)`,
      ` https://myvault.vault.azure.net/keys/k`,
      `https://myvault.vault.azure.net/keys/${'a'.repeat(200)}`,
      `https://MYVAULT.VAULT.AZURE.NET:443/keys/k`,
    ];
    let rejected = 0;
    for (const keyId of corpus) {
      try {
        const config = parse(keyId);
        // If the parser ever accepted one, the provider must still not reach our listeners.
        await provider.describe(config, { tenantId: 't-1' }).catch(() => undefined);
      } catch {
        rejected++;
      }
    }
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    expect(contacted).toBe(0);
    expect(rejected).toBe(corpus.length);
  });
});
