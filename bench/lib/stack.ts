import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { ENV } from './env';
import { Child, freePort, readProcMemory, spawnNode, waitForHttp } from './procs';

/**
 * The processes of a benchmark run: emulators, API replicas (each with the bench preload), the worker. Each runs in
 * its own child process; this module starts them, waits for readiness and talks to them.
 */
export interface Paths {
  root: string;
  distBench: string;
  logDir: string;
  resultsDir: string;
}

export const apiMain = (p: Paths): string => join(p.root, 'dist', 'apps', 'api', 'src', 'main.js');
export const workerMain = (p: Paths): string => join(p.root, 'dist', 'apps', 'worker', 'src', 'main.js');
export const migrateCli = (p: Paths): string => join(p.root, 'dist', 'libs', 'persistence', 'src', 'cli.js');

/** Drops and recreates the run's database so every run starts from the same empty state. */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.replace(/^\//, '');
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`benchmark database name "${name}" must be a plain identifier`);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

export async function migrate(paths: Paths, env: NodeJS.ProcessEnv): Promise<void> {
  const cli = migrateCli(paths);
  if (!existsSync(cli)) throw new Error(`the persistence CLI (${cli}) is not built: cannot migrate the benchmark database`);
  const child = spawnNode('migrate', cli, { env, args: ['migrate'], logDir: paths.logDir });
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`migrations failed (exit ${code}); see ${child.logFile}`);
}

export interface Emulators {
  child: Child;
  awsUrl: string;
  adminUrl: string;
  tlsCertFile: string;
  mode: 'all' | 'aws-only';
}

export async function startEmulatorChild(paths: Paths, tlsFile: string): Promise<Emulators> {
  const child = spawnNode('emulators', join(paths.distBench, 'support', 'emulator-entry.js'), {
    env: { ...process.env, BENCH_EMULATOR_TLS_FILE: tlsFile },
    logDir: paths.logDir,
  });
  type Ready = { type: 'emulators-ready'; awsUrl: string; adminUrl: string; tlsCertFile: string; mode: 'all' | 'aws-only' };
  const ready = await child.message((m): m is Ready => (m as Ready)?.type === 'emulators-ready', 60_000);
  return { child, awsUrl: ready.awsUrl, adminUrl: ready.adminUrl, tlsCertFile: ready.tlsCertFile, mode: ready.mode };
}

export class ApiReplica {
  private nextId = 1;
  private constructor(
    readonly child: Child,
    /** The public listener (admin API, console). */
    readonly url: string,
    /** The internal listener (DEK API, service tokens, /metrics): every load target. */
    readonly internalUrl: string,
  ) {}

  /** Starts dist/apps/api/src/main.js with the bench preload and --expose-gc, on free ports; waits for /readyz on both listeners. */
  static async start(paths: Paths, name: string, env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Promise<ApiReplica> {
    const main = apiMain(paths);
    if (!existsSync(main)) throw new Error(`the API (${main}) is not built`);
    const port = await freePort();
    const internalPort = await freePort();
    const child = spawnNode(name, main, {
      env: { ...env, PORT: String(port), HOST: '127.0.0.1', KEYHOLD_INTERNAL_PORT: String(internalPort), KEYHOLD_INTERNAL_HOST: '127.0.0.1', BENCH_INJECT_CEILING: '1' },
      execArgv: ['--expose-gc', ...nodeFlags, '--require', join(paths.distBench, 'support', 'api-preload.js')],
      logDir: paths.logDir,
    });
    const url = `http://127.0.0.1:${port}`;
    const internalUrl = `http://127.0.0.1:${internalPort}`;
    try {
      await waitForHttp(`${url}/readyz`, `API replica ${name}`, child, 90_000);
      await waitForHttp(`${internalUrl}/readyz`, `API replica ${name} (internal listener)`, child, 30_000);
    } catch (err) {
      await child.stop();
      throw err;
    }
    return new ApiReplica(child, url, internalUrl);
  }

  private async command<T>(type: string, extra: object = {}): Promise<T> {
    const id = this.nextId++;
    type Reply = { type: 'bench-reply'; id: number; ok: boolean; result?: T; error?: string };
    const answer = this.child.message((m): m is Reply => (m as Reply)?.type === 'bench-reply' && (m as Reply).id === id, 60_000);
    this.child.proc.send({ type, id, ...extra });
    const reply = await answer;
    if (!reply.ok) throw new Error(`API replica ${this.child.name}: ${type} failed: ${reply.error}`);
    return reply.result as T;
  }

  /** Full GC in the child, then its memory: RSS from /proc plus V8's own accounting. */
  async settledMemory(): Promise<{ rssBytes: number; heapUsed: number; external: number; arrayBuffers: number }> {
    const usage = await this.command<NodeJS.MemoryUsage>('gc');
    return { rssBytes: readProcMemory(this.child.pid).rssBytes, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers };
  }

  profileStart(): Promise<unknown> {
    return this.command('profile-start');
  }

  profileStop(file: string): Promise<unknown> {
    return this.command('profile-stop', { file });
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

export async function startWorkerChild(paths: Paths, name: string, env: NodeJS.ProcessEnv): Promise<Child> {
  const main = workerMain(paths);
  if (!existsSync(main)) throw new Error(`the worker (${main}) is not built`);
  const child = spawnNode(name, main, { env, logDir: paths.logDir });
  // The worker's only HTTP surface is its metrics port: when it answers, the worker has booted. A worker without
  // one gets a fixed grace period instead; either way it must still be alive afterwards.
  const port = env[ENV.workerMetricsPort];
  const ready = port ? await waitForHttp(`http://127.0.0.1:${port}/metrics`, `worker ${name}`, child, 15_000).then(() => true, () => false) : false;
  if (!ready) await new Promise((r) => setTimeout(r, 2_000));
  if (child.exited()) throw new Error(`worker exited during start-up; see ${child.logFile}`);
  return child;
}
