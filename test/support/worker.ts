import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { secretEnv, type KeyholdConfig } from '@app/config';
import { RunningWorker, StartWorkerOptions, startWorker } from '../../apps/worker/src/worker';
import type { WorkerSettings } from '../../apps/worker/src/worker-settings';

const ROOT = join(__dirname, '..', '..');

/** Worker settings that make tests fast: ephemeral metrics port, short locks, quick reconcile and backoff. */
export const FAST_WORKER_SETTINGS: Partial<WorkerSettings> = {
  metricsPort: 0,
  lockDurationMs: 4_000,
  stalledIntervalMs: 1_000,
  heartbeatMs: 300,
  reconcileIntervalMs: 700,
  reconcileStaleMs: 1_500,
  transientBackoff: { baseMs: 50, capMs: 800 },
};

/** The worker in this process (the usual case). */
export async function startTestWorker(config: KeyholdConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  return startWorker(config, { ...options, settings: { ...FAST_WORKER_SETTINGS, ...(options.settings ?? {}) } });
}

/** The same configuration as environment variables, for a worker child process (loadConfig reads these). */
export function workerEnv(config: KeyholdConfig, extra: Record<string, string> = {}): Record<string, string> {
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
    KEYHOLD_PROBE_INTERVAL_SECONDS: String(config.probe.intervalSeconds),
    KEYHOLD_PROBE_CONFIRMATION_WINDOW_SECONDS: String(config.probe.confirmationWindowSeconds),
    KEYHOLD_PROBE_CONFIRMATIONS: String(config.probe.confirmations),
    KEYHOLD_KEK_MAX_WRAPS: String(config.kekRotation.maxWraps),
    KEYHOLD_KEK_MAX_AGE_SECONDS: String(config.kekRotation.maxAgeSeconds),
    LOG_LEVEL: 'info',
    AWS_EC2_METADATA_DISABLED: 'true',
    METADATA_SERVER_DETECTION: 'none',
    KEYHOLD_WORKER_METRICS_PORT: '0',
    KEYHOLD_WORKER_LOCK_MS: String(FAST_WORKER_SETTINGS.lockDurationMs),
    KEYHOLD_WORKER_STALLED_INTERVAL_MS: String(FAST_WORKER_SETTINGS.stalledIntervalMs),
    KEYHOLD_WORKER_HEARTBEAT_MS: String(FAST_WORKER_SETTINGS.heartbeatMs),
    KEYHOLD_RECONCILE_INTERVAL_MS: String(FAST_WORKER_SETTINGS.reconcileIntervalMs),
    KEYHOLD_RECONCILE_STALE_MS: String(FAST_WORKER_SETTINGS.reconcileStaleMs),
    KEYHOLD_JOB_BACKOFF_BASE_MS: '50',
    KEYHOLD_JOB_BACKOFF_CAP_MS: '800',
  };
  for (const [k, v] of Object.entries(config.providerEnv)) if (k.startsWith('KEYHOLD_') && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the metrics URL once the worker logged that it started. */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote (for assertions that no key material was logged, and for debugging). */
  output(): string;
  kill(signal?: NodeJS.Signals): void;
}

/** The real worker entry point (apps/worker/src/main.ts) as a child process, so a test can SIGKILL it. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['-r', join(ROOT, 'test/support/swc-register.js'), join(ROOT, 'apps/worker/src/main.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let resolveReady!: (url: string) => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<string>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  const onData = (chunk: Buffer) => {
    out += chunk.toString('utf8');
    const m = /keyhold worker started \(metrics on (http:\/\/[^)\s]+)\)/.exec(out);
    if (m) resolveReady(m[1]);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      rejectReady(new Error(`worker exited before it was ready (code ${code}, signal ${signal}): ${out.slice(-2000)}`));
      resolve({ code, signal });
    });
  });
  ready.catch(() => undefined);
  return {
    child,
    pid: child.pid ?? -1,
    ready,
    exited,
    output: () => out,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
