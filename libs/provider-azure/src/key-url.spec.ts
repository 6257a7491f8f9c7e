import { InvalidIdentifierError } from '@app/provider-port';
import { parseAzureKeyConfigInput, parseAzureKeyUrl } from './key-url';
import { parseEmulatorHosts, type AzureProviderSettings } from './settings';

/**
 * The key URL parser is the SSRF gate for Azure: tenant input names a host only through it. These cases pin what is
 * accepted (and how it is normalised) and that each hostile form is refused with a message naming the problem.
 */
const PROD: Pick<AzureProviderSettings, 'allowedEmulatorHosts'> = { allowedEmulatorHosts: [] };
const EMU = { allowedEmulatorHosts: parseEmulatorHosts('127.0.0.1:4567,vault.localhost:4567') };
const VERSION = '0123456789abcdef0123456789abcdef';

function refusal(input: unknown, settings = PROD): InvalidIdentifierError {
  try {
    parseAzureKeyUrl(input, settings);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidIdentifierError);
    expect((err as InvalidIdentifierError).field).toBe('azure.keyId');
    return err as InvalidIdentifierError;
  }
  throw new Error(`accepted ${String(input)}`);
}

describe('parseAzureKeyUrl', () => {
  it('accepts versionless and versioned keys on every Key Vault / Managed HSM suffix', () => {
    for (const suffix of [
      'vault.azure.net',
      'managedhsm.azure.net',
      'vault.azure.cn',
      'managedhsm.azure.cn',
      'vault.usgovcloudapi.net',
      'managedhsm.usgovcloudapi.net',
    ]) {
      const p = parseAzureKeyUrl(`https://contoso-kv.${suffix}/keys/tenant-kek/${VERSION}`, PROD);
      expect(p).toMatchObject({
        host: `contoso-kv.${suffix}`,
        keyName: 'tenant-kek',
        version: VERSION,
        emulator: null,
      });
      expect(p.keyId).toBe(`https://contoso-kv.${suffix}/keys/tenant-kek`);
      expect(p.managedHsm).toBe(suffix.startsWith('managedhsm'));
    }
    const versionless = parseAzureKeyUrl('https://contoso-kv.vault.azure.net/keys/tenant-kek', PROD);
    expect(versionless.version).toBeUndefined();
  });

  it('normalises case in the scheme, host and version; keeps the key name as written', () => {
    const p = parseAzureKeyUrl(`HTTPS://Contoso-KV.Vault.Azure.NET/keys/Tenant-KEK/${VERSION.toUpperCase()}`, PROD);
    expect(p.keyId).toBe('https://contoso-kv.vault.azure.net/keys/Tenant-KEK');
    expect(p.version).toBe(VERSION);
  });

  it.each([
    ['not a string', 42, 'is missing'],
    ['empty', '', 'is missing'],
    ['http', 'http://contoso-kv.vault.azure.net/keys/k', 'https://'],
    ['scheme-relative', '//contoso-kv.vault.azure.net/keys/k', 'https://'],
    ['userinfo', 'https://user@contoso-kv.vault.azure.net/keys/k', '@'],
    ['userinfo trick', 'https://contoso-kv.vault.azure.net@evil.example/keys/k', '@'],
    ['explicit port', 'https://contoso-kv.vault.azure.net:8443/keys/k', 'port'],
    ['default port spelled out', 'https://contoso-kv.vault.azure.net:443/keys/k', 'port'],
    ['query', 'https://contoso-kv.vault.azure.net/keys/k?x=1', 'query'],
    ['fragment', 'https://contoso-kv.vault.azure.net/keys/k#x', 'fragment'],
    ['suffix appended', 'https://contoso-kv.vault.azure.net.evil.com/keys/k', 'not an Azure Key Vault'],
    ['suffix without dot', 'https://evilvault.azure.net/keys/k', 'not an Azure Key Vault'],
    ['bare suffix', 'https://vault.azure.net/keys/k', 'not an Azure Key Vault'],
    ['trailing dot', 'https://contoso-kv.vault.azure.net./keys/k', 'dot'],
    ['IPv4 literal', 'https://169.254.169.254/keys/k', 'IP address'],
    ['IPv6 literal', 'https://[::1]/keys/k', 'IP address'],
    ['percent escape', 'https://contoso-kv.vault.azure.net/keys/%6b', 'percent'],
    ['encoded host', 'https://contoso-kv%2evault.azure.net/keys/k', 'percent'],
    ['backslash', 'https://evil.example\\.vault.azure.net/keys/k', 'backslash'],
    ['unicode dot', 'https://contoso-kv\u3002vault.azure.net/keys/k', 'non-ASCII'],
    ['full-width letters', 'https://ｃontoso-kv.vault.azure.net/keys/k', 'non-ASCII'],
    ['punycode vault label', 'https://xn--80ak6aa92e.vault.azure.net/keys/k', 'invalid vault'],
    ['whitespace', 'https://contoso-kv.vault.azure.net /keys/k', 'spaces'],
    ['secrets path', 'https://contoso-kv.vault.azure.net/secrets/k', '/keys/<name>'],
    ['extra segment', `https://contoso-kv.vault.azure.net/keys/k/${VERSION}/wrapkey`, '/keys/<name>'],
    ['dot segment', 'https://contoso-kv.vault.azure.net/keys/../secrets/k', '/keys/<name>'],
    ['bad key name', 'https://contoso-kv.vault.azure.net/keys/k_1', 'key name'],
    ['key name too long', `https://contoso-kv.vault.azure.net/keys/${'a'.repeat(128)}`, 'key name'],
    ['bad version', 'https://contoso-kv.vault.azure.net/keys/k/latest', 'version'],
    ['emulator host not allowed', 'https://127.0.0.1:4567/keys/k', 'IP address'],
    ['emulator name not allowed', 'https://vault.localhost:4567/keys/k', 'port'],
  ])('refuses %s', (_label, input, why) => {
    const err = refusal(input);
    expect(err.message).toContain(why);
  });

  it('accepts an allowed emulator host:port (IP literal and port included) and nothing else on that host', () => {
    const p = parseAzureKeyUrl(`https://127.0.0.1:4567/keys/tenant-kek/${VERSION}`, EMU);
    expect(p.emulator).toEqual({ host: '127.0.0.1', port: 4567, connectHost: '127.0.0.1' });
    expect(p.keyId).toBe('https://127.0.0.1:4567/keys/tenant-kek');
    expect(parseAzureKeyUrl('https://vault.localhost:4567/keys/k', EMU).emulator?.host).toBe('vault.localhost');
    refusal('https://127.0.0.1:4568/keys/k', EMU);
    refusal('https://127.0.0.1/keys/k', EMU);
    refusal('https://vault.localhost/keys/k', EMU);
  });
});

describe('parseAzureKeyConfigInput', () => {
  it('pins the versionless key and a lower-case tenant GUID', () => {
    const cfg = parseAzureKeyConfigInput(
      {
        keyId: `https://contoso-kv.vault.azure.net/keys/tenant-kek/${VERSION}`,
        tenantId: '7D3F0C5E-1B2A-4C3D-9E8F-0A1B2C3D4E5F',
      },
      PROD,
      'ext-0123456789abcdefghij',
    );
    expect(cfg).toEqual({
      provider: 'azure',
      keyId: 'https://contoso-kv.vault.azure.net/keys/tenant-kek',
      tenantId: '7d3f0c5e-1b2a-4c3d-9e8f-0a1b2c3d4e5f',
      externalId: 'ext-0123456789abcdefghij',
    });
  });

  it.each([undefined, '', 'contoso.onmicrosoft.com', '7d3f0c5e-1b2a-4c3d-9e8f-0a1b2c3d4e5', 12])(
    'refuses tenant id %p naming the field',
    (tenantId) => {
      try {
        parseAzureKeyConfigInput(
          { keyId: 'https://contoso-kv.vault.azure.net/keys/k', tenantId },
          PROD,
          'ext-0123456789abcdefghij',
        );
        throw new Error('accepted');
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidIdentifierError);
        expect((err as InvalidIdentifierError).field).toBe('azure.tenantId');
      }
    },
  );
});
