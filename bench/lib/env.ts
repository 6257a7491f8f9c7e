import { createHash } from 'node:crypto';
import { join } from 'node:path';

/**
 * The product's environment for benchmark children. Base values come from scripts/local-env.js (the same names the
 * local launcher uses), then the run's own endpoints, database, Redis prefix and secrets override them.
 * Variables the product reads under names settled by other modules are collected here, in one place.
 */
export const ENV = {
  kekCacheTtlSeconds: 'KEYHOLD_KEK_CACHE_TTL_SECONDS',
  kekCacheMaxEntries: 'KEYHOLD_KEK_CACHE_MAX_ENTRIES',
  dekCacheMaxBytes: 'KEYHOLD_DEK_CACHE_MAX_BYTES',
  probeIntervalSeconds: 'KEYHOLD_PROBE_INTERVAL_SECONDS',
  probeWindowSeconds: 'KEYHOLD_PROBE_CONFIRMATION_WINDOW_SECONDS',
  probeConfirmations: 'KEYHOLD_PROBE_CONFIRMATIONS',
  providerRatePerSecond: 'KEYHOLD_PROVIDER_RATE_PER_SECOND',
  keyConfigurationRatePerSecond: 'KEYHOLD_KEY_CONFIGURATION_RATE_PER_SECOND',
  tokenRatePerPrincipalPerMinute: 'KEYHOLD_TOKEN_RATE_PER_PRINCIPAL_PER_MINUTE',
  dekCreateRatePerMinute: 'KEYHOLD_DEK_CREATE_RATE_PER_MINUTE',
  benchCeilingRoute: 'KEYHOLD_BENCH_CEILING_ROUTE',
  workerMetricsPort: 'KEYHOLD_WORKER_METRICS_PORT',
  consoleDir: 'KEYHOLD_CONSOLE_DIR',
} as const;

export interface RunEnv {
  root: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  operatorToken: string;
  tokenSecret: string;
  auditHmacKey: string;
  auditSigningKey: string;
  awsUrl: string;
  tlsCertFile: string;
  /** Production mode mails through a webhook; the run's own capture server receives the invitation. */
  mailWebhookUrl: string;
}

export function productEnv(run: RunEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a JavaScript file of the checkout under test, found at run time
  const { localEnv } = require(join(run.root, 'scripts', 'local-env.js')) as {
    localEnv: (root: string, base: NodeJS.ProcessEnv) => NodeJS.ProcessEnv;
  };
  const base: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TZ']) if (process.env[k] !== undefined) base[k] = process.env[k];
  return {
    ...localEnv(run.root, base),
    // production mode: no generated secrets, no development conveniences on the hot path
    KEYHOLD_MODE: 'production',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: run.databaseUrl,
    REDIS_URL: run.redisUrl,
    KEYHOLD_REDIS_PREFIX: run.redisPrefix,
    KEYHOLD_OPERATOR_TOKEN: run.operatorToken,
    KEYHOLD_TOKEN_SECRET: run.tokenSecret,
    KEYHOLD_AUDIT_HMAC_KEY: run.auditHmacKey,
    KEYHOLD_AUDIT_SIGNING_KEY: run.auditSigningKey,
    // derived from the audit HMAC key: a benchmark run needs a stable value per run, nothing more
    KEYHOLD_MFA_SECRET_KEY: createHash('sha256').update(`mfa/${run.auditHmacKey}`).digest('base64'),
    KEYHOLD_MAIL_WEBHOOK_URL: run.mailWebhookUrl,
    KEYHOLD_AWS_KMS_ENDPOINT: run.awsUrl,
    KEYHOLD_AWS_STS_ENDPOINT: run.awsUrl,
    KEYHOLD_AZURE_CA_FILE: run.tlsCertFile,
    KEYHOLD_GCP_CA_FILE: run.tlsCertFile,
    KEYHOLD_EMULATOR_TLS_FILE: run.tlsCertFile.replace(/\.cert\.pem$/, ''),
    AWS_EC2_METADATA_DISABLED: 'true',
    METADATA_SERVER_DETECTION: 'none',
    NO_PROXY: '*',
    [ENV.benchCeilingRoute]: '1',
    // every replica and section asks for its own service-principal token; the token endpoint's limiter is not
    // what is measured here
    [ENV.tokenRatePerPrincipalPerMinute]: '600',
    // seeding creates up to a million DEKs through one service principal in seconds; the creation rate limit is not
    // what is measured (every measured fetch is of an existing DEK, which never reaches the limiter)
    [ENV.dekCreateRatePerMinute]: '100000000',
    // the console's static files are not part of any measurement; a path that does not exist keeps them off
    [ENV.consoleDir]: join(run.root, 'bench', 'no-console'),
    ...extra,
  };
}
