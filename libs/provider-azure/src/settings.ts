import { readFileSync } from 'node:fs';

/** Where an allowed emulator host (dev/test only) is really reached: `host:port[=connectHost]`. */
export interface EmulatorHost {
  host: string;
  port: number;
  connectHost: string;
}

export interface AzureProviderSettings {
  /** Entra authority, e.g. https://login.microsoftonline.com (an emulator origin in dev/test). */
  authorityHost: string;
  /** The vendor's multi-tenant app registration (Keyhold's identity in customers' tenants). */
  vendorClientId: string;
  vendorClientSecret: string;
  /** Extra CA to trust (the emulator's self-signed certificate); system trust otherwise. */
  tlsCaPem?: string;
  /** Hosts accepted besides the Key Vault / Managed HSM suffixes: dev/test only, never in production. */
  allowedEmulatorHosts: EmulatorHost[];
  /** Token audience used for emulator hosts (the emulator's challenge resource). */
  emulatorResource: string;
  maxRetries: number;
  requestTimeoutMs: number;
  /**
   * How long a successful ownership-tag check is trusted before an unwrap reads the key's tags again (describe
   * and wrap read them every time). 60 s when absent; 0 checks before every unwrap.
   */
  ownershipTtlMs?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads and checks KEYHOLD_AZURE_*; a bad value stops start-up with a message naming the variable. */
export function loadAzureSettings(env: Readonly<Record<string, string | undefined>>): AzureProviderSettings {
  const authorityHost = (env.KEYHOLD_AZURE_AUTHORITY_HOST || 'https://login.microsoftonline.com').replace(/\/+$/, '');
  let authority: URL;
  try {
    authority = new URL(authorityHost);
  } catch {
    throw new Error(`KEYHOLD_AZURE_AUTHORITY_HOST must be an https URL, got "${authorityHost}"`);
  }
  if (authority.protocol !== 'https:')
    throw new Error('KEYHOLD_AZURE_AUTHORITY_HOST must use https (Entra refuses anything else)');
  const vendorClientId = env.KEYHOLD_AZURE_CLIENT_ID ?? '';
  if (!GUID.test(vendorClientId))
    throw new Error('KEYHOLD_AZURE_CLIENT_ID must be the vendor app registration id (a GUID)');
  const vendorClientSecret = env.KEYHOLD_AZURE_CLIENT_SECRET ?? '';
  if (vendorClientSecret.length < 8)
    throw new Error('KEYHOLD_AZURE_CLIENT_SECRET must be set (the vendor app client secret)');
  let tlsCaPem: string | undefined = env.KEYHOLD_AZURE_CA_PEM || undefined;
  if (tlsCaPem && !tlsCaPem.includes('BEGIN CERTIFICATE'))
    throw new Error('KEYHOLD_AZURE_CA_PEM must hold a PEM certificate');
  if (!tlsCaPem && env.KEYHOLD_AZURE_CA_FILE) {
    try {
      tlsCaPem = readFileSync(env.KEYHOLD_AZURE_CA_FILE, 'utf8');
    } catch {
      throw new Error(`KEYHOLD_AZURE_CA_FILE cannot be read: ${env.KEYHOLD_AZURE_CA_FILE}`);
    }
    if (!tlsCaPem.includes('BEGIN CERTIFICATE')) throw new Error('KEYHOLD_AZURE_CA_FILE must hold a PEM certificate');
  }
  const allowedEmulatorHosts = parseEmulatorHosts(env.KEYHOLD_AZURE_EMULATOR_HOSTS ?? '');
  if (allowedEmulatorHosts.length && (env.KEYHOLD_MODE ?? 'production') === 'production')
    throw new Error('KEYHOLD_AZURE_EMULATOR_HOSTS is for dev/test only: it must be empty when KEYHOLD_MODE=production');
  return {
    authorityHost,
    vendorClientId: vendorClientId.toLowerCase(),
    vendorClientSecret,
    tlsCaPem,
    allowedEmulatorHosts,
    emulatorResource: env.KEYHOLD_AZURE_EMULATOR_RESOURCE || 'https://vault.localhost',
    maxRetries: intVar(env, 'KEYHOLD_AZURE_MAX_RETRIES', 2, 0, 10),
    requestTimeoutMs: intVar(env, 'KEYHOLD_AZURE_REQUEST_TIMEOUT_MS', 5000, 100, 120000),
    ownershipTtlMs: intVar(env, 'KEYHOLD_AZURE_OWNERSHIP_TTL_MS', 60000, 0, 600000),
  };
}

export function parseEmulatorHosts(raw: string): EmulatorHost[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^([a-z0-9.-]+):(\d{1,5})(?:=([a-z0-9.-]+))?$/i.exec(entry);
      if (!m) throw new Error(`KEYHOLD_AZURE_EMULATOR_HOSTS entries must be host:port[=connectHost], got "${entry}"`);
      const port = Number(m[2]);
      if (port < 1 || port > 65535) throw new Error(`KEYHOLD_AZURE_EMULATOR_HOSTS: bad port in "${entry}"`);
      return { host: m[1].toLowerCase(), port, connectHost: (m[3] ?? '127.0.0.1').toLowerCase() };
    });
}

function intVar(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  return n;
}
