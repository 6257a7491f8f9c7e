import { AzureKeyConfig, InvalidIdentifierError } from '@app/provider-port';
import type { AzureProviderSettings, EmulatorHost } from './settings';

/**
 * Tenant-supplied Key Vault key URLs are the one place where tenant input names a network host, so they are
 * parsed strictly (a tenant-supplied URL must never make Keyhold call an arbitrary host): absolute https, no userinfo/port/query/fragment, no IP literal,
 * host ending (with a leading dot) in an Azure Key Vault or Managed HSM suffix; exact path `/keys/{name}[/{version}]`.
 * The only exception is a host:port listed in configuration for the local emulator (dev/test).
 */
export const KEY_VAULT_SUFFIXES = [
  '.vault.azure.net',
  '.managedhsm.azure.net',
  '.vault.azure.cn',
  '.managedhsm.azure.cn',
  '.vault.usgovcloudapi.net',
  '.managedhsm.usgovcloudapi.net',
] as const;

export interface ParsedKeyUrl {
  /** https://host[:port] */
  vaultUrl: string;
  host: string;
  keyName: string;
  version?: string;
  /** Canonical versionless key id: `${vaultUrl}/keys/${keyName}`. */
  keyId: string;
  managedHsm: boolean;
  emulator: EmulatorHost | null;
}

const FIELD = 'azure.keyId';
const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const VERSION = /^[0-9a-f]{32}$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseAzureKeyUrl(
  input: unknown,
  settings: Pick<AzureProviderSettings, 'allowedEmulatorHosts'>,
): ParsedKeyUrl {
  const bad = (why: string): never => {
    throw new InvalidIdentifierError(
      FIELD,
      `The Azure key identifier ${why}. Expected https://<vault>.vault.azure.net/keys/<name>[/<version>].`,
    );
  };
  if (typeof input !== 'string' || input.length === 0) return bad('is missing');
  if (input.length > 512) return bad('is too long');
  // Characters a URL parser would silently rewrite (backslashes, whitespace, controls, percent escapes, non-ASCII
  // such as unicode dots or full-width letters) are refused before parsing, so what we check is what we call.
  if (/[^\x21-\x7e]/.test(input)) return bad('contains spaces, control or non-ASCII characters');
  if (/[\\%@]/.test(input)) return bad('contains a backslash, a percent escape or an @');
  if (!/^https:\/\//i.test(input)) return bad('must start with https://');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return bad('is not a valid URL');
  }
  if (url.username || url.password) return bad('must not carry a user name or password');
  if (url.search || input.includes('?')) return bad('must not have a query string');
  if (url.hash || input.includes('#')) return bad('must not have a fragment');
  const host = url.hostname.toLowerCase();
  const emulator = settings.allowedEmulatorHosts.find((e) => e.host === host && String(e.port) === url.port) ?? null;
  if (!emulator) {
    // URL() drops a default port (:443), so look at what was written, not only at what it parsed to.
    // IP literals first: an IPv6 literal also contains colons and would otherwise be reported as a port.
    if (host.startsWith('[') || /^[0-9.]+$/.test(host) || /^0x/i.test(host))
      return bad('must use a Key Vault host name, not an IP address');
    if (url.port || input.slice('https://'.length).split('/')[0].includes(':')) return bad('must not name a port');
    if (host.endsWith('.')) return bad('must not end the host name with a dot');
    const suffix = KEY_VAULT_SUFFIXES.find((s) => host.endsWith(s));
    if (!suffix)
      return bad(
        `host "${host}" is not an Azure Key Vault or Managed HSM host (${KEY_VAULT_SUFFIXES.map((s) => `*${s}`).join(', ')})`,
      );
    const vault = host.slice(0, host.length - suffix.length);
    // Key Vault names start with a letter and never hold "--", which also shuts out punycode (xn--) look-alikes.
    if (!LABEL.test(vault) || !/^[a-z]/.test(vault) || vault.includes('--') || vault.length < 3 || vault.length > 24)
      return bad('names an invalid vault (3-24 letters, digits and single dashes, starting with a letter)');
  }
  const parts = url.pathname.split('/');
  // ['', 'keys', name] or ['', 'keys', name, version] (a trailing slash is tolerated once)
  if (parts[parts.length - 1] === '' && parts.length > 3) parts.pop();
  if (parts[0] !== '' || parts[1] !== 'keys' || parts.length < 3 || parts.length > 4)
    return bad('path must be /keys/<name> or /keys/<name>/<version>');
  const keyName = parts[2];
  if (!NAME.test(keyName)) return bad('key name must be 1-127 letters, digits and dashes');
  const version = parts[3];
  if (version !== undefined && !VERSION.test(version.toLowerCase()))
    return bad('key version must be 32 hexadecimal characters');
  const vaultUrl = `https://${host}${url.port ? `:${url.port}` : ''}`;
  return {
    vaultUrl,
    host,
    keyName,
    version: version?.toLowerCase(),
    keyId: `${vaultUrl}/keys/${keyName}`,
    managedHsm: host.includes('.managedhsm.'),
    emulator,
  };
}

/**
 * Parses the admin's input into a configuration; the key is pinned versionless (wraps use the current version).
 * `externalId` is the Keyhold tenant's own, never the client's.
 */
export function parseAzureKeyConfigInput(
  input: { keyId: unknown; tenantId: unknown },
  settings: Pick<AzureProviderSettings, 'allowedEmulatorHosts'>,
  externalId: string,
): AzureKeyConfig {
  const parsed = parseAzureKeyUrl(input.keyId, settings);
  if (typeof input.tenantId !== 'string' || !GUID.test(input.tenantId))
    throw new InvalidIdentifierError(
      'azure.tenantId',
      'The Azure tenant id must be your Microsoft Entra tenant (directory) id, a GUID.',
    );
  return { provider: 'azure', keyId: parsed.keyId, tenantId: input.tenantId.toLowerCase(), externalId };
}
