import { join } from 'node:path';
import { ApiProcess, freePort, NodeChild, spawnNode, spawnWorker } from '../../stack';
import { readProcMemory } from './procs';

/**
 * The processes of a benchmark run, on the shared stack builder (stack/): emulators, API replicas (each with the
 * bench preload), the worker. Each runs in its own child process, its output in bench/results/logs/<name>.log.
 */
export interface Paths {
  root: string;
  distBench: string;
  logDir: string;
  resultsDir: string;
}

/**
 * What the benchmark's customer grants the vendor role on top of Encrypt/Decrypt/DescribeKey/ListKeyRotations: the
 * KEK rotation and CMK rewrap measure the one-call ReEncrypt path, not its fallback.
 */
export const BENCH_KEY_ACTIONS = ['kms:ReEncrypt*', 'kms:GenerateDataKey*'];

export interface Emulators {
  child: NodeChild;
  awsUrl: string;
  adminUrl: string;
  tlsCertFile: string;
}

export async function startEmulatorChild(paths: Paths, tlsFile: string): Promise<Emulators> {
  const child = spawnNode('emulators', join(paths.distBench, 'support', 'emulator-entry.js'), {
    env: { ...process.env, BENCH_EMULATOR_TLS_FILE: tlsFile },
    logDir: paths.logDir,
    ipc: true,
  });
  type Ready = { type: 'emulators-ready'; awsUrl: string; adminUrl: string; tlsCertFile: string };
  const ready = await child.message((m): m is Ready => (m as Ready)?.type === 'emulators-ready', 60_000);
  return { child, awsUrl: ready.awsUrl, adminUrl: ready.adminUrl, tlsCertFile: ready.tlsCertFile };
}

/** An API replica with the bench preload: its commands (full GC, CPU profile) over IPC. */
export class ApiReplica extends ApiProcess {
  private nextId = 1;

  /** apps/api/src/main with the bench preload and --expose-gc, on free ports; waits for /readyz on both listeners. */
  static async start(
    paths: Paths,
    name: string,
    env: NodeJS.ProcessEnv,
    nodeFlags: string[] = [],
  ): Promise<ApiReplica> {
    const api = new ApiReplica({
      name,
      env: { ...env, BENCH_INJECT_CEILING: '1' },
      port: await freePort(),
      internalPort: await freePort(),
      execArgv: ['--expose-gc', ...nodeFlags, '--require', join(paths.distBench, 'support', 'api-preload.js')],
      logDir: paths.logDir,
      ipc: true,
    });
    await api.start();
    return api;
  }

  private async command<T>(type: string, extra: object = {}): Promise<T> {
    const id = this.nextId++;
    type Reply = { type: 'bench-reply'; id: number; ok: boolean; result?: T; error?: string };
    const answer = this.child.message(
      (m): m is Reply => (m as Reply)?.type === 'bench-reply' && (m as Reply).id === id,
      60_000,
    );
    this.child.proc.send({ type, id, ...extra });
    const reply = await answer;
    if (!reply.ok) throw new Error(`API replica ${this.child.name}: ${type} failed: ${reply.error}`);
    return reply.result as T;
  }

  /** Full GC in the child, then its memory: RSS from /proc plus V8's own accounting. */
  async settledMemory(): Promise<{ rssBytes: number; heapUsed: number; external: number; arrayBuffers: number }> {
    const usage = await this.command<NodeJS.MemoryUsage>('gc');
    return {
      rssBytes: readProcMemory(this.child.pid).rssBytes,
      heapUsed: usage.heapUsed,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
    };
  }

  profileStart(): Promise<unknown> {
    return this.command('profile-start');
  }

  profileStop(file: string): Promise<unknown> {
    return this.command('profile-stop', { file });
  }
}

/** The worker (apps/worker/src/main) in a child process, once it has logged that it started. */
export async function startWorkerChild(paths: Paths, name: string, env: NodeJS.ProcessEnv): Promise<NodeChild> {
  const worker = spawnWorker(env, { name, logDir: paths.logDir });
  await Promise.race([
    worker.ready,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`worker ${name} did not start within 30s; see ${worker.logFile}`)), 30_000),
    ),
  ]).catch(async (err: unknown) => {
    await worker.stop();
    throw err;
  });
  return worker;
}
