import { request as httpsRequest } from 'node:https';
import { ClientSecretCredential } from '@azure/identity';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { AdminServer } from '../../apps/kms-emulator/src/core/admin-server';
import { CallCounters } from '../../apps/kms-emulator/src/core/counters';
import { FaultEngine } from '../../apps/kms-emulator/src/core/faults';
import { Propagation } from '../../apps/kms-emulator/src/core/propagation';
import { loadOrCreateTls } from '../../apps/kms-emulator/src/core/tls';
import { AzureEmulator, AZURE_EMULATOR_DEFAULTS, createAzureEmulator } from '../../apps/kms-emulator/src/azure';
import { agentPolicy, AzureProviderSettings, createAzureAgent } from '../../libs/provider-azure/src';
import { emulatorAdmin } from './emulator-admin';

/**
 * The Azure emulator alone on an ephemeral https port, with SDK clients that trust its certificate and map its vault
 * host to 127.0.0.1 — configuration, exactly as Keyhold's own binding is configured; no SDK is mocked.
 */
export interface AzureEmulatorHarness {
  emulator: AzureEmulator;
  faults: FaultEngine;
  counters: CallCounters;
  adminUrl: string;
  vaultUrl: string;
  authorityHost: string;
  tenantId: string;
  caPem: string;
  /** Provider settings pointing Keyhold's binding at this emulator. */
  settings(overrides?: Partial<AzureProviderSettings>): AzureProviderSettings;
  /** Env form of the same settings (for the control plane). */
  env(): Record<string, string>;
  /** KeyClient signed in as the customer's admin app (full rights on the vault). */
  customerKeys(): KeyClient;
  /** KeyClient signed in as any app of the customer's tenant (e.g. Keyhold's, to show what it may not do). */
  keysAs(clientId: string, secret: string): KeyClient;
  cryptoAs(keyUrl: string, clientId: string, secret: string, maxRetries?: number): CryptographyClient;
  /** A client-credentials token from the emulated Entra for `scope` (raw OAuth request). */
  tokenFor(clientId: string, secret: string, scope: string): Promise<string>;
  /** A raw https call to the vault with a bearer token (for what the SDK never sends, e.g. a wrong audience). */
  rawVault(
    method: string,
    pathAndQuery: string,
    token: string,
  ): Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined> }>;
  /** KeyClient pinned to a Key Vault api-version (`serviceVersion`). */
  keysAsVersion(clientId: string, secret: string, serviceVersion: string): KeyClient;
  /** Grant or revoke the vendor app's data-plane access to a key. */
  grantVendor(key: string, ops?: string[]): Promise<void>;
  revokeVendor(key: string): Promise<void>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startAzureEmulator(): Promise<AzureEmulatorHarness> {
  const faults = new FaultEngine();
  const counters = new CallCounters();
  const propagation = new Propagation();
  const tls = loadOrCreateTls();
  const emulator = createAzureEmulator({ faults, counters, tls, persist: () => undefined, propagation }, {});
  const { port } = await emulator.start('127.0.0.1', 0);
  const admin = new AdminServer(faults, counters, [emulator], () => undefined, propagation);
  const adminAt = await admin.start('127.0.0.1', 0);
  const d = AZURE_EMULATOR_DEFAULTS;
  const hosts = [{ host: d.vaultHost, port, connectHost: '127.0.0.1' }];
  const agent = createAzureAgent({ tlsCaPem: tls.caPem, allowedEmulatorHosts: hosts });
  const opts = (maxRetries = 0) => ({
    additionalPolicies: [{ policy: agentPolicy(agent), position: 'perCall' as const }],
    retryOptions: { maxRetries, retryDelayInMs: 50, maxRetryDelayInMs: 200 },
  });
  const cred = (clientId: string, secret: string) =>
    new ClientSecretCredential(d.customerTenantId, clientId, secret, {
      ...opts(),
      authorityHost: emulator.authorityHost(),
      disableInstanceDiscovery: true,
    });
  const adminCall = emulatorAdmin(adminAt.url);
  return {
    emulator,
    faults,
    counters,
    adminUrl: adminAt.url,
    vaultUrl: emulator.vaultUrl(),
    authorityHost: emulator.authorityHost(),
    tenantId: d.customerTenantId,
    caPem: tls.caPem,
    settings: (overrides = {}) => ({
      authorityHost: emulator.authorityHost(),
      vendorClientId: d.vendorClientId,
      vendorClientSecret: d.vendorClientSecret,
      tlsCaPem: tls.caPem,
      allowedEmulatorHosts: hosts,
      emulatorResource: d.resource,
      maxRetries: 0,
      requestTimeoutMs: 3000,
      ...overrides,
    }),
    env: () => ({
      KEYHOLD_AZURE_AUTHORITY_HOST: emulator.authorityHost(),
      KEYHOLD_AZURE_CLIENT_ID: d.vendorClientId,
      KEYHOLD_AZURE_CLIENT_SECRET: d.vendorClientSecret,
      KEYHOLD_AZURE_EMULATOR_HOSTS: `${d.vaultHost}:${port}=127.0.0.1`,
      KEYHOLD_AZURE_MAX_RETRIES: '0',
      KEYHOLD_AZURE_REQUEST_TIMEOUT_MS: '3000',
      KEYHOLD_AZURE_CA_PEM: tls.caPem,
    }),
    customerKeys: () =>
      new KeyClient(emulator.vaultUrl(), cred(d.customerAdminClientId, d.customerAdminClientSecret), opts()),
    keysAs: (clientId, secret) => new KeyClient(emulator.vaultUrl(), cred(clientId, secret), opts()),
    tokenFor: async (clientId, secret, scope) => {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: secret,
        scope,
      }).toString();
      const r = await rawHttps(
        new URL(`${emulator.authorityHost()}/${d.customerTenantId}/oauth2/v2.0/token`),
        'POST',
        tls.caPem,
        { 'content-type': 'application/x-www-form-urlencoded' },
        form,
      );
      if (r.status !== 200) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
      return String(r.body.access_token);
    },
    rawVault: (method, pathAndQuery, token) =>
      rawHttps(new URL(`https://127.0.0.1:${port}${pathAndQuery}`), method, tls.caPem, {
        authorization: `Bearer ${token}`,
        host: `${d.vaultHost}:${port}`,
      }),
    keysAsVersion: (clientId, secret, serviceVersion) =>
      new KeyClient(emulator.vaultUrl(), cred(clientId, secret), { ...opts(), serviceVersion }),
    cryptoAs: (keyUrl, clientId, secret, maxRetries = 0) =>
      new CryptographyClient(keyUrl, cred(clientId, secret), opts(maxRetries)),
    grantVendor: async (key, ops = ['get', 'wrapKey', 'unwrapKey']) => {
      const r = await adminCall('POST', '/azure/grants', {
        tenantId: d.customerTenantId,
        clientId: d.vendorClientId,
        key,
        ops,
      });
      if (r.status !== 201) throw new Error(`grant failed: ${JSON.stringify(r.body)}`);
    },
    revokeVendor: async (key) => {
      await adminCall('DELETE', '/azure/grants', { tenantId: d.customerTenantId, clientId: d.vendorClientId, key });
    },
    admin: adminCall,
    async close() {
      agent.destroy();
      await admin.close();
      await emulator.close();
    },
  };
}

function rawHttps(
  url: URL,
  method: string,
  ca: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca,
        servername: 'localhost',
        headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
