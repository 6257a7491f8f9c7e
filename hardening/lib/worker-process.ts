import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { secretEnv, type KeyholdConfig } from '../../libs/config/src';

/**
 * The real worker entry point as a child process, so the suite can SIGKILL it mid-operation. From the compiled
 * suite (dist/hardening) it runs dist/apps/worker/src/main.js; from jest (TypeScript sources) it runs
 * apps/worker/src/main.ts through the repository's swc register hook.
 */
export interface WorkerChild {
  readonly pid: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

const compiled = __filename.endsWith('.js');
const ROOT = compiled ? resolve(__dirname, '..', '..', '..') : resolve(__dirname, '..', '..');

function entry(): string[] {
  if (compiled) {
    const main = join(ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');
    if (!existsSync(main)) throw new Error(`the worker has not been built (${main}); run npm run build:server`);
    return [main];
  }
  return ['-r', join(ROOT, 'test', 'support', 'swc-register.js'), join(ROOT, 'apps', 'worker', 'src', 'main.ts')];
}

/** The product configuration as the worker's environment (loadConfig reads these), plus fast test settings. */
export function workerEnvironment(config: KeyholdConfig, extra: Record<string, string> = {}): Record<string, string> {
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
    LOG_LEVEL: 'info',
    AWS_EC2_METADATA_DISABLED: 'true',
    METADATA_SERVER_DETECTION: 'none',
    KEYHOLD_WORKER_METRICS_PORT: '0',
    KEYHOLD_WORKER_LOCK_MS: '3000',
    KEYHOLD_WORKER_STALLED_INTERVAL_MS: '1000',
    KEYHOLD_WORKER_HEARTBEAT_MS: '300',
    KEYHOLD_RECONCILE_INTERVAL_MS: '700',
    KEYHOLD_RECONCILE_STALE_MS: '1500',
    KEYHOLD_JOB_BACKOFF_BASE_MS: '50',
    KEYHOLD_JOB_BACKOFF_CAP_MS: '800',
  };
  for (const [k, v] of Object.entries(config.providerEnv)) if (k.startsWith('KEYHOLD_') && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

export function spawnWorker(env: Record<string, string>): WorkerChild {
  const child: ChildProcess = spawn(process.execPath, entry(), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);
  const onData = (c: Buffer) => {
    out += c.toString('utf8');
    if (/keyhold worker started/.test(out)) resolveReady();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => {
      rejectReady(new Error(`worker exited before it was ready (${code ?? signal}): ${out.slice(-1500)}`));
      res({ code, signal });
    }),
  );
  return {
    pid: child.pid ?? -1,
    ready,
    exited,
    output: () => out,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
