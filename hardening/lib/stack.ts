import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { buildConfig, KeyholdConfig, KeyholdConfigInput } from '../../libs/config/src';
import { createApiApp, ApiApp } from '../../apps/api/src/app';
import { AWS_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/aws';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { GCP_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/gcp';
import { startEmulators, RunningEmulators } from '../../apps/kms-emulator/src/emulator-host';
import { CustomerAws } from './customer';
import { createPrivateDatabase, DbInspector, PrivateDatabase } from './database';
import { HttpClient } from './http';
import { PrivatePostgres } from './postgres-server';
import { PrivateRedis } from './redis-server';

/**
 * The product under test, in this process: the three cloud emulators on ephemeral ports, the API on an ephemeral
 * port against a private, freshly migrated database and (optionally) a private redis-server, with its logs
 * captured in memory so the suite can prove nothing secret was written.
 */
export interface HardeningStack {
  api: ApiApp;
  url: string;
  /** The internal listener (DEK API, service tokens, /metrics). */
  internalUrl: string;
  config: KeyholdConfig;
  /** The platform operator's token (the configuration holds only its hash). */
  operatorToken: string;
  emulators: RunningEmulators;
  /** Clouds whose provider binding the API could build (others answer PROVIDER_NOT_CONFIGURED). */
  configuredProviders: string[];
  db: PrivateDatabase;
  inspector: DbInspector;
  redis: PrivateRedis | null;
  /** The private Postgres cluster, when one was asked for and could be started. */
  postgres: PrivatePostgres | null;
  /** Why there is no private cluster although one was asked for. */
  postgresNote: string | null;
  /** Both listeners: /internal/* and /metrics go to the internal one (see HttpClient). */
  http: HttpClient;
  /** The public listener only (what the internet reaches). */
  publicHttp: HttpClient;
  /** The internal listener only. */
  internalHttp: HttpClient;
  customer: CustomerAws;
  /** Everything the API logged (JSON lines). */
  logs(): string;
  close(): Promise<void>;
}

export interface HardeningStackOptions {
  /** Run a private redis-server (needed to restart Redis under the product). Default: the shared Redis, own prefix. */
  privateRedis?: boolean;
  /** Run a private Postgres cluster (initdb on a random port) so Postgres itself can be restarted. */
  privatePostgres?: boolean;
  config?: KeyholdConfigInput;
}

export async function startHardeningStack(options: HardeningStackOptions = {}): Promise<HardeningStack> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => undefined);
  };
  try {
    let postgres: PrivatePostgres | null = null;
    let postgresNote: string | null = null;
    if (options.privatePostgres) {
      const started = await PrivatePostgres.start();
      postgres = started.pg;
      postgresNote = started.reason ?? null;
      if (postgres) cleanups.push(() => postgres!.stop());
    }
    const db = await createPrivateDatabase('keyhold_hardening', postgres?.url);
    cleanups.push(() => db.drop());
    const redis = options.privateRedis ? await PrivateRedis.start() : null;
    if (redis) cleanups.push(() => redis.stop());
    const emulators = await startEmulators({ ports: { aws: 0, azure: 0, gcp: 0, admin: 0 } });
    cleanups.push(() => emulators.close());
    const tmp = mkdtempSync(join(tmpdir(), 'keyhold-hardening-'));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

    const d = AWS_EMULATOR_DEFAULTS;
    const providerEnv: Record<string, string> = {
      KEYHOLD_MODE: 'test',
      KEYHOLD_AWS_REGION: d.region,
      KEYHOLD_AWS_KMS_ENDPOINT: emulators.aws.url,
      KEYHOLD_AWS_STS_ENDPOINT: emulators.aws.url,
      KEYHOLD_AWS_ACCESS_KEY_ID: d.vendorAccessKeyId,
      KEYHOLD_AWS_SECRET_ACCESS_KEY: d.vendorSecretAccessKey,
      KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN: `arn:aws:iam::${d.vendorAccountId}:user/${d.vendorUserName}`,
      // No SDK retry backoff and short deadlines: a hung KMS must turn into a 503 within the fault window.
      KEYHOLD_AWS_MAX_ATTEMPTS: '1',
      KEYHOLD_AWS_REQUEST_TIMEOUT_MS: '2000',
      ...azureEnv(emulators),
      ...gcpEnv(emulators, tmp),
    };
    const operatorToken = randomBytes(32).toString('base64url');
    const config = buildConfig({
      mode: 'test',
      port: 0,
      host: '127.0.0.1',
      internalPort: 0,
      internalHost: '127.0.0.1',
      databaseUrl: db.url,
      databasePoolSize: 8,
      redisUrl: redis?.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      redisPrefix: `khhard-${randomBytes(5).toString('hex')}`,
      operatorToken,
      tokenSecret: randomBytes(48).toString('base64url'),
      // The fuzzer and the matrix talk to the token endpoint from one IP: keep the per-IP limit out of their way
      // (the brute-force check exercises the per-account limit, which keeps its production default).
      tokenRatePerIpPerMinute: 100_000,
      logLevel: 'info',
      consoleDir: '/nonexistent',
      ...options.config,
      providerEnv,
    });
    const captured: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        captured.push(String(chunk));
        cb();
      },
    });
    const api = await createApiApp(config, { logDestination: sink });
    cleanups.push(() => api.close());
    const customer = new CustomerAws(emulators.aws.url);
    cleanups.push(() => customer.close());
    const inspector = new DbInspector((sql, params) => api.services.ds.query(sql, params));
    const unavailable = new Set([...api.services.registry.unavailable].map(([kind]) => String(kind)));
    return {
      api,
      url: api.url,
      internalUrl: api.internalUrl,
      config,
      operatorToken,
      emulators,
      configuredProviders: ['aws', 'azure', 'gcp'].filter((p) => !unavailable.has(p)),
      db,
      inspector,
      redis,
      postgres,
      postgresNote,
      http: new HttpClient(api.url, api.internalUrl),
      publicHttp: new HttpClient(api.url),
      internalHttp: new HttpClient(api.internalUrl),
      customer,
      logs: () => captured.join(''),
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function azureEnv(e: RunningEmulators): Record<string, string> {
  const azure = e.clouds.azure as unknown as { authorityHost?: () => string };
  if (typeof azure.authorityHost !== 'function') return {};
  return {
    KEYHOLD_AZURE_AUTHORITY_HOST: azure.authorityHost(),
    KEYHOLD_AZURE_CLIENT_ID: AZURE_EMULATOR_DEFAULTS.vendorClientId,
    KEYHOLD_AZURE_CLIENT_SECRET: AZURE_EMULATOR_DEFAULTS.vendorClientSecret,
    // The emulated vault host is allowed by explicit configuration only, and never in production mode.
    KEYHOLD_AZURE_EMULATOR_HOSTS: `${AZURE_EMULATOR_DEFAULTS.vaultHost}:${e.azure.port}=127.0.0.1`,
    KEYHOLD_AZURE_CA_PEM: e.tls.caPem,
    KEYHOLD_AZURE_MAX_RETRIES: '0',
    KEYHOLD_AZURE_REQUEST_TIMEOUT_MS: '2000',
  };
}

/** The GCP binding's settings, from the endpoints the GCP emulator exposes (none when it exposes none). */
function gcpEnv(e: RunningEmulators, tmp: string): Record<string, string> {
  const gcp = e.clouds.gcp as unknown as { endpoints?: () => { kms: { host: string; port: number }; iamCredentials?: string } | null };
  const ep = typeof gcp.endpoints === 'function' ? gcp.endpoints() : null;
  if (!ep) return {};
  const caFile = join(tmp, 'gcp-ca.pem');
  writeFileSync(caFile, e.tls.caPem);
  const defaults: { vendorProject?: string; vendorToken?: string } = GCP_EMULATOR_DEFAULTS;
  const env: Record<string, string> = {
    KEYHOLD_GCP_KMS_ENDPOINT: `${ep.kms.host}:${ep.kms.port}`,
    KEYHOLD_GCP_CA_FILE: caFile,
    KEYHOLD_GCP_TIMEOUT_MS: '2000',
    KEYHOLD_GCP_MAX_RETRIES: '0',
  };
  if (ep.iamCredentials) env.KEYHOLD_GCP_IAM_ENDPOINT = new URL(ep.iamCredentials).origin;
  if (defaults.vendorProject) env.KEYHOLD_GCP_VENDOR_PROJECT = defaults.vendorProject;
  if (defaults.vendorToken) env.KEYHOLD_GCP_VENDOR_TOKEN = defaults.vendorToken;
  return env;
}
