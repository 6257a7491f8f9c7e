import { randomBytes } from 'node:crypto';
import { buildConfig, secretEnv, type KeyholdConfig, type KeyholdConfigInput } from '../libs/config/src';
import type { WorkerSettings } from '../apps/worker/src/worker-settings';

/**
 * The product's configuration for a harness run: test mode, both listeners on ephemeral loopback ports, fresh
 * secrets, the given database, Redis and provider settings. `input` wins over every default.
 */
export function stackConfig(
  base: { databaseUrl: string; redisUrl: string; redisPrefix: string; providerEnv: Record<string, string> },
  input: KeyholdConfigInput = {},
): { config: KeyholdConfig; operatorToken: string } {
  const operatorToken = randomBytes(32).toString('base64url');
  const config = buildConfig({
    mode: 'test',
    port: 0,
    host: '127.0.0.1',
    internalPort: 0,
    internalHost: '127.0.0.1',
    databaseUrl: base.databaseUrl,
    databasePoolSize: 8,
    redisUrl: base.redisUrl,
    redisPrefix: base.redisPrefix,
    operatorToken,
    tokenSecret: randomBytes(48).toString('base64url'),
    logLevel: 'info',
    consoleDir: '/nonexistent',
    ...input,
    providerEnv: { ...base.providerEnv, ...input.providerEnv },
  });
  return { config, operatorToken };
}

/** Worker settings that make a run fast: ephemeral metrics port, short locks, quick reconcile and backoff. */
export const FAST_WORKER_SETTINGS = {
  metricsPort: 0,
  lockDurationMs: 4_000,
  stalledIntervalMs: 1_000,
  heartbeatMs: 300,
  reconcileIntervalMs: 700,
  reconcileStaleMs: 1_500,
  transientBackoff: { baseMs: 50, capMs: 800 },
} satisfies Partial<WorkerSettings>;

/**
 * The same configuration as environment variables (what loadConfig reads), for a worker or API child process,
 * with the fast worker settings; `extra` wins.
 */
export function configEnv(config: KeyholdConfig, extra: Record<string, string> = {}): Record<string, string> {
  const f = FAST_WORKER_SETTINGS;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    KEYHOLD_MODE: config.mode,
    DATABASE_URL: config.databaseUrl,
    KEYHOLD_DATABASE_POOL_SIZE: String(config.databasePoolSize),
    REDIS_URL: config.redisUrl,
    KEYHOLD_REDIS_PREFIX: config.redisPrefix,
    ...secretEnv(config),
    // the same audit keys as the API: one log, one MAC key, one checkpoint signer
    KEYHOLD_AUDIT_HMAC_KEY: config.audit.hmacKey,
    KEYHOLD_AUDIT_SIGNING_KEY: config.audit.signingKey,
    KEYHOLD_AUDIT_CHECKPOINT_INTERVAL_SECONDS: String(config.audit.checkpointIntervalSeconds),
    KEYHOLD_KEK_CACHE_TTL_SECONDS: String(config.kekCache.ttlSeconds),
    KEYHOLD_PROBE_INTERVAL_SECONDS: String(config.probe.intervalSeconds),
    KEYHOLD_PROBE_CONFIRMATION_WINDOW_SECONDS: String(config.probe.confirmationWindowSeconds),
    KEYHOLD_PROBE_CONFIRMATIONS: String(config.probe.confirmations),
    KEYHOLD_KEK_MAX_WRAPS: String(config.kekRotation.maxWraps),
    KEYHOLD_KEK_MAX_AGE_SECONDS: String(config.kekRotation.maxAgeSeconds),
    KEYHOLD_CONSOLE_DIR: config.consoleDir,
    LOG_LEVEL: 'info',
    AWS_EC2_METADATA_DISABLED: 'true',
    METADATA_SERVER_DETECTION: 'none',
    KEYHOLD_WORKER_METRICS_PORT: String(f.metricsPort),
    KEYHOLD_WORKER_LOCK_MS: String(f.lockDurationMs),
    KEYHOLD_WORKER_STALLED_INTERVAL_MS: String(f.stalledIntervalMs),
    KEYHOLD_WORKER_HEARTBEAT_MS: String(f.heartbeatMs),
    KEYHOLD_RECONCILE_INTERVAL_MS: String(f.reconcileIntervalMs),
    KEYHOLD_RECONCILE_STALE_MS: String(f.reconcileStaleMs),
    KEYHOLD_JOB_BACKOFF_BASE_MS: String(f.transientBackoff.baseMs),
    KEYHOLD_JOB_BACKOFF_CAP_MS: String(f.transientBackoff.capMs),
  };
  for (const [k, v] of Object.entries(config.providerEnv)) if (k.startsWith('KEYHOLD_') && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}
