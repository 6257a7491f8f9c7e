import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * Child processes of a harness run (API replicas, workers, emulators, load generators): one way to start a Node
 * script, capture what it writes, talk to it over IPC, wait for it and stop it.
 */

/** The repository root, from the TypeScript sources (jest) and from the compiled tree (dist/stack). */
export const COMPILED = __filename.endsWith('.js');
export const ROOT = COMPILED ? resolve(__dirname, '..', '..') : resolve(__dirname, '..');

/**
 * How to run one of the product's entry points (`apps/worker/src/main`): the compiled file under dist/ when the
 * harness itself runs compiled (bench, hardening), otherwise the TypeScript source through the repository's swc
 * register hook (jest), so a test never needs a build.
 */
export function entryPoint(path: string): { script: string; execArgv: string[] } {
  if (COMPILED) {
    const script = join(ROOT, 'dist', `${path}.js`);
    if (!existsSync(script)) throw new Error(`${script} has not been built; run npm run build:server`);
    return { script, execArgv: [] };
  }
  return { script: join(ROOT, `${path}.ts`), execArgv: ['-r', join(ROOT, 'test', 'support', 'swc-register.js')] };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeChild {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Where its output is written, when it is written to a file (bench); otherwise it is kept in memory. */
  readonly logFile: string | null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** Everything it wrote (the last 256 KiB when it writes to a file). */
  output(): string;
  running(): boolean;
  /** Resolves with the next IPC message matching `pick` (rejects if the child exits first or on timeout). */
  message<T>(pick: (m: unknown) => m is T, timeoutMs?: number): Promise<T>;
  /** Sends a signal if it is still running. */
  kill(signal?: NodeJS.Signals): void;
  /** `signal` (SIGTERM), SIGKILL after `timeoutMs`, and waits for the exit. */
  stop(timeoutMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  execArgv?: string[];
  args?: string[];
  /** Write its output to `<logDir>/<name>.log` instead of keeping all of it in memory. */
  logDir?: string;
  /** An IPC channel (child.message, proc.send). */
  ipc?: boolean;
  cwd?: string;
}

const live = new Set<NodeChild>();
const TAIL = 256 * 1024;

export function spawnNode(name: string, script: string, opts: SpawnOptions): NodeChild {
  let log: WriteStream | null = null;
  let logFile: string | null = null;
  if (opts.logDir) {
    mkdirSync(opts.logDir, { recursive: true });
    logFile = join(opts.logDir, `${name}.log`);
    log = createWriteStream(logFile);
  }
  const proc = spawn(process.execPath, [...(opts.execArgv ?? []), script, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? ROOT,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${script})`);
  let out = '';
  const onData = (c: Buffer): void => {
    log?.write(c);
    out += c.toString('utf8');
    if (log && out.length > 2 * TAIL) out = out.slice(-TAIL);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  let done = false;
  const exited = new Promise<Exit>((res) =>
    proc.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      log?.end();
      res({ code, signal });
    }),
  );
  const child: NodeChild = {
    name,
    proc,
    pid: proc.pid,
    logFile,
    exited,
    output: () => out,
    running: () => !done && proc.exitCode === null && proc.signalCode === null,
    message<T>(pick: (m: unknown) => m is T, timeoutMs = 60_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (m: unknown): void => {
          if (!pick(m)) return;
          cleanup();
          resolve(m);
        };
        const onExit = (code: number | null, signal: string | null): void => {
          cleanup();
          reject(new Error(`${name} exited (${signal ?? code}) before answering; ${where()}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name} did not answer within ${timeoutMs / 1000}s; ${where()}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          proc.off('message', onMessage);
          proc.off('exit', onExit);
        };
        proc.on('message', onMessage);
        proc.once('exit', onExit);
      });
    },
    kill(signal = 'SIGTERM') {
      if (child.running()) proc.kill(signal);
    },
    async stop(timeoutMs = 5_000, signal: NodeJS.Signals = 'SIGTERM') {
      if (!child.running()) {
        await exited;
        return;
      }
      proc.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const where = (): string => (logFile ? `see ${logFile}` : `output: ${out.slice(-1500)}`);
  live.add(child);
  return child;
}

/** Stops every child still running (harness shutdown, also on failure). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop().catch(() => undefined)));
}

/** A free loopback port (listen on 0, read, close). The tiny race is acceptable on a test machine. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 2xx; fails early when `child` exits. */
export async function waitForHttp(
  url: string,
  what: string,
  child: NodeChild | null,
  timeoutMs = 60_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child && !child.running())
      throw new Error(
        `${what} exited during start-up; ${child.logFile ? `see ${child.logFile}` : child.output().slice(-1500)}`,
      );
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(
    `${what} did not become ready at ${url} within ${timeoutMs / 1000}s${child ? `; ${child.logFile ? `see ${child.logFile}` : child.output().slice(-1500)}` : ''}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
