import { randomBytes } from 'node:crypto';
import type { KeyholdConfig, KeyholdConfigInput } from '../libs/config/src';
import type { ApiApp } from '../apps/api/src/app';
import { logCapture, startApi } from './api';
import { stackConfig } from './config';
import { CustomerAws } from './customer-aws';
import { createDatabase, PrivateDatabase } from './database';
import { emulatorProviderEnv, startStackEmulators, StackEmulators } from './emulators';
import { HttpClient } from './http';
import { PrivatePostgres } from './postgres-server';
import { PrivateRedis } from './redis-server';

/**
 * One stack builder for tests, the hardening suite and the benchmarks. Each module has one job:
 * emulators.ts (the three clouds in-process and the product's settings for them), database.ts (private databases:
 * create, migrate, drop), config.ts (the product's configuration and the same as a child's environment), api.ts
 * (the API in-process or as a child process), worker.ts (the worker in-process or as a child process), http.ts
 * (the HTTP client), processes.ts (child processes), customer-aws.ts (the customer's side of AWS), redis.ts,
 * redis-server.ts and postgres-server.ts (private servers that a suite can restart).
 *
 * `startStack` composes them: the emulators, a database, Redis under a unique prefix, and the API in this process
 * on ephemeral ports with its logs captured in memory.
 */
export interface Stack {
  api: ApiApp;
  /** The public listener (console, admin API). */
  url: string;
  /** The internal listener (DEK API, service tokens, /metrics). */
  internalUrl: string;
  config: KeyholdConfig;
  redisPrefix: string;
  /** The platform operator's token (the configuration holds only its hash). */
  operatorToken: string;
  emulators: StackEmulators;
  /** The private database, when one was asked for (dropped by close). */
  db: PrivateDatabase | null;
  /** The private redis-server, when one was asked for. */
  redis: PrivateRedis | null;
  /** The private Postgres cluster, when one was asked for and could be started. */
  postgres: PrivatePostgres | null;
  /** Why there is no private cluster although one was asked for. */
  postgresNote: string | null;
  /**
   * Both listeners, as the deployment splits them: paths under /internal/ and /metrics go to the internal listener
   * (where internal services and the metrics scraper reach them), everything else to the public one.
   */
  http: HttpClient;
  /** The public listener only (what the internet reaches). */
  publicHttp: HttpClient;
  /** The internal listener only. */
  internalHttp: HttpClient;
  /** The customer's side of AWS (their KMS keys and IAM roles). */
  aws: CustomerAws;
  /** Everything the API logged so far (JSON lines). */
  logs(): string;
  close(): Promise<void>;
}

export interface StackOptions {
  /** The database to use as it is (already migrated), or the server a private database is created on. */
  databaseUrl: string;
  /** Create a private database `<privateDatabase>_<random>` (dropped by close) instead of using `databaseUrl`'s. */
  privateDatabase?: string;
  /** Run a private Postgres cluster (so Postgres itself can be restarted) and the private database on it. */
  privatePostgres?: boolean;
  /** Run a private redis-server (so Redis can be restarted under the product). Default: REDIS_URL, own prefix. */
  privateRedis?: boolean;
  /** The start of the unique Redis prefix. */
  redisPrefix?: string;
  /** Deadline of one KMS call (SDK timeouts), ms. */
  providerTimeoutMs?: number;
  config?: KeyholdConfigInput;
  providerEnv?: Record<string, string>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const cleanups: Array<() => unknown> = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse())
      await Promise.resolve()
        .then(c)
        .catch(() => undefined);
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
    const db =
      options.privateDatabase || postgres
        ? await createDatabase(postgres?.url ?? options.databaseUrl, options.privateDatabase ?? 'keyhold_stack')
        : null;
    if (db) cleanups.push(() => db.drop());
    const redis = options.privateRedis ? await PrivateRedis.start() : null;
    if (redis) cleanups.push(() => redis.stop());
    const emulators = await startStackEmulators();
    cleanups.push(() => emulators.close());

    const redisPrefix = `${options.redisPrefix ?? 'khtest'}-${randomBytes(6).toString('hex')}`;
    const { config, operatorToken } = stackConfig(
      {
        databaseUrl: db?.url ?? options.databaseUrl,
        redisUrl: redis?.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        redisPrefix,
        providerEnv: { ...emulatorProviderEnv(emulators, options.providerTimeoutMs), ...options.providerEnv },
      },
      options.config,
    );
    const logs = logCapture();
    const api = await startApi(config, { logDestination: logs.sink });
    cleanups.push(() => api.close());
    const aws = new CustomerAws(emulators.aws.url);
    cleanups.push(() => aws.close());
    return {
      api,
      url: api.url,
      internalUrl: api.internalUrl,
      config,
      redisPrefix,
      operatorToken,
      emulators,
      db,
      redis,
      postgres,
      postgresNote,
      http: new HttpClient(api.url, api.internalUrl),
      publicHttp: new HttpClient(api.url),
      internalHttp: new HttpClient(api.internalUrl),
      aws,
      logs: logs.text,
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

export { ApiProcess, discardLogs, logCapture, startApi } from './api';
export type { ApiProcessOptions } from './api';
export { configEnv, FAST_WORKER_SETTINGS, stackConfig } from './config';
export { CustomerAws } from './customer-aws';
export { createDatabase, dropDatabase, migrateDatabase, recreateDatabase } from './database';
export type { PrivateDatabase } from './database';
export { emulatorProviderEnv, startStackEmulators } from './emulators';
export type { StackEmulators } from './emulators';
export { expectStatus, HttpClient, requestUrl } from './http';
export type { HttpResult, RequestOptions } from './http';
export { COMPILED, entryPoint, freePort, ROOT, sleep, spawnNode, stopAll, waitForHttp } from './processes';
export type { Exit, NodeChild, SpawnOptions } from './processes';
export { PrivatePostgres } from './postgres-server';
export { cleanRedisPrefix } from './redis';
export { PrivateRedis } from './redis-server';
export { spawnWorker, startWorker } from './worker';
export type { WorkerProcess } from './worker';
