import { z } from 'zod';
import type { KeyholdConfig } from '@app/config';
import type { JobsRuntimeOptions } from '@app/jobs';

/**
 * Worker-only settings (the shared ones — probe interval, confirmation window and count, KEK limits, Redis
 * prefix — come from @app/config). Read from the environment, validated, errors naming the variable.
 */
export interface WorkerSettings {
  readonly metricsPort: number;
  readonly metricsHost: string;
  /** Jobs run at once per queue: KEK rotations (Postgres/CPU bound), CMK rewraps and re-keys (KMS-latency bound), probes. */
  readonly concurrency: { operations: number; rewraps: number; probes: number };
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly heartbeatMs: number;
  readonly reconcileIntervalMs: number;
  readonly reconcileStaleMs: number;
  readonly rotationCheckIntervalMs: number;
  readonly cmkRewrapMaxAgeSeconds: number;
  readonly providerRatePerSecond: number;
  readonly keyConfigurationRatePerSecond: number;
  readonly maxTransientProbes: number;
  readonly providerAttemptsInPlace: number;
  readonly dekBatchSize: number;
  /** Workspaces of one bulk operation handled at once (each bind is a wrap and an unwrap at the customer's KMS). */
  readonly bulkItemConcurrency: number;
  readonly transientBackoff: { baseMs: number; capMs: number };
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const ENV = {
  metricsPort: ['KEYHOLD_WORKER_METRICS_PORT', int(0, 65535), 3001],
  metricsHost: ['KEYHOLD_WORKER_METRICS_HOST', z.string().min(1), '127.0.0.1'],
  operations: ['KEYHOLD_WORKER_CONCURRENCY', int(1, 256), 4],
  probes: ['KEYHOLD_WORKER_PROBE_CONCURRENCY', int(1, 256), 8],
  // A rewrap spends nearly all its time waiting on two KMS round trips; the provider rate limits, not this, pace
  // the customer's KMS. 4 at once capped a 10,000-workspace rewrap at ~67 workspaces/s with 20 ms KMS latency.
  rewraps: ['KEYHOLD_WORKER_REWRAP_CONCURRENCY', int(1, 256), 8],
  lockDurationMs: ['KEYHOLD_WORKER_LOCK_MS', int(1000, 600_000), 30_000],
  stalledIntervalMs: ['KEYHOLD_WORKER_STALLED_INTERVAL_MS', int(500, 600_000), 30_000],
  heartbeatMs: ['KEYHOLD_WORKER_HEARTBEAT_MS', int(100, 600_000), 10_000],
  reconcileIntervalMs: ['KEYHOLD_RECONCILE_INTERVAL_MS', int(200, 3_600_000), 30_000],
  reconcileStaleMs: ['KEYHOLD_RECONCILE_STALE_MS', int(100, 86_400_000), 60_000],
  rotationCheckIntervalMs: ['KEYHOLD_ROTATION_CHECK_INTERVAL_MS', int(1000, 86_400_000), 3_600_000],
  cmkRewrapMaxAgeSeconds: ['KEYHOLD_CMK_REWRAP_MAX_AGE_SECONDS', int(0, 10 * 365 * 86400), 0],
  providerRatePerSecond: ['KEYHOLD_PROVIDER_RATE_PER_SECOND', int(1, 100_000), 200],
  keyConfigurationRatePerSecond: ['KEYHOLD_KEY_CONFIGURATION_RATE_PER_SECOND', int(1, 100_000), 20],
  maxTransientProbes: ['KEYHOLD_PROBE_MAX_TRANSIENT', int(1, 10_000), 20],
  providerAttemptsInPlace: ['KEYHOLD_PROVIDER_ATTEMPTS_IN_PLACE', int(1, 20), 4],
  dekBatchSize: ['KEYHOLD_KEK_ROTATION_BATCH', int(1, 10_000), 1000],
  bulkItemConcurrency: ['KEYHOLD_WORKER_BULK_ITEM_CONCURRENCY', int(1, 64), 4],
  backoffBaseMs: ['KEYHOLD_JOB_BACKOFF_BASE_MS', int(1, 600_000), 1_000],
  backoffCapMs: ['KEYHOLD_JOB_BACKOFF_CAP_MS', int(1, 3_600_000), 300_000],
} as const;

export function loadWorkerSettings(
  env: Record<string, string | undefined>,
  overrides: Partial<WorkerSettings> = {},
): WorkerSettings {
  const v: Record<string, unknown> = {};
  for (const [key, [name, schema, fallback]] of Object.entries(ENV)) {
    const raw = env[name];
    const parsed = (schema as z.ZodTypeAny).safeParse(raw === undefined || raw === '' ? fallback : raw);
    if (!parsed.success)
      throw new Error(`invalid worker configuration: ${name} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    v[key] = parsed.data;
  }
  if ((v.backoffBaseMs as number) > (v.backoffCapMs as number)) {
    throw new Error(
      'invalid worker configuration: KEYHOLD_JOB_BACKOFF_BASE_MS must not exceed KEYHOLD_JOB_BACKOFF_CAP_MS',
    );
  }
  return {
    metricsPort: v.metricsPort as number,
    metricsHost: v.metricsHost as string,
    concurrency: { operations: v.operations as number, rewraps: v.rewraps as number, probes: v.probes as number },
    lockDurationMs: v.lockDurationMs as number,
    stalledIntervalMs: v.stalledIntervalMs as number,
    heartbeatMs: v.heartbeatMs as number,
    reconcileIntervalMs: v.reconcileIntervalMs as number,
    reconcileStaleMs: v.reconcileStaleMs as number,
    rotationCheckIntervalMs: v.rotationCheckIntervalMs as number,
    cmkRewrapMaxAgeSeconds: v.cmkRewrapMaxAgeSeconds as number,
    providerRatePerSecond: v.providerRatePerSecond as number,
    keyConfigurationRatePerSecond: v.keyConfigurationRatePerSecond as number,
    maxTransientProbes: v.maxTransientProbes as number,
    providerAttemptsInPlace: v.providerAttemptsInPlace as number,
    dekBatchSize: v.dekBatchSize as number,
    bulkItemConcurrency: v.bulkItemConcurrency as number,
    transientBackoff: { baseMs: v.backoffBaseMs as number, capMs: v.backoffCapMs as number },
    ...overrides,
  };
}

export function runtimeOptions(
  config: KeyholdConfig,
  s: WorkerSettings,
  extra: Pick<JobsRuntimeOptions, 'log' | 'stepHook' | 'schedulers'>,
): JobsRuntimeOptions {
  return {
    prefix: config.redisPrefix,
    concurrency: s.concurrency,
    lockDurationMs: s.lockDurationMs,
    stalledIntervalMs: s.stalledIntervalMs,
    heartbeatMs: s.heartbeatMs,
    reconcileIntervalMs: s.reconcileIntervalMs,
    reconcileStaleMs: s.reconcileStaleMs,
    probeIntervalMs: config.probe.intervalSeconds * 1000,
    rotationCheckIntervalMs: s.rotationCheckIntervalMs,
    policy: { confirmations: config.probe.confirmations, windowMs: config.probe.confirmationWindowSeconds * 1000 },
    rateLimits: {
      perProviderPerSec: s.providerRatePerSecond,
      perKeyConfigurationPerSec: s.keyConfigurationRatePerSecond,
    },
    transientBackoff: { ...s.transientBackoff, floorMs: Math.min(100, s.transientBackoff.baseMs) },
    maxTransientProbes: s.maxTransientProbes,
    providerAttemptsInPlace: s.providerAttemptsInPlace,
    rotation: {
      kekMaxWraps: config.kekRotation.maxWraps,
      kekMaxAgeSeconds: config.kekRotation.maxAgeSeconds,
      cmkRewrapMaxAgeSeconds: s.cmkRewrapMaxAgeSeconds,
    },
    dekBatchSize: s.dekBatchSize,
    ...extra,
  };
}
