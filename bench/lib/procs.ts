import { ChildProcess, fork } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * Child processes of a benchmark run. Every server (emulators, API replicas, worker) and the load generator runs in
 * its own process so the harness never steals their event loop; output goes to bench/results/logs/<name>.log.
 */
export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves with the next IPC message matching `pick` (rejects if the child exits first or on timeout). */
  message<T>(pick: (m: unknown) => m is T, timeoutMs?: number): Promise<T>;
  stop(timeoutMs?: number): Promise<void>;
  exited(): boolean;
}

const live = new Set<Child>();

export interface SpawnOptions {
  env: NodeJS.ProcessEnv;
  execArgv?: string[];
  args?: string[];
  logDir: string;
}

export function spawnNode(name: string, script: string, opts: SpawnOptions): Child {
  mkdirSync(opts.logDir, { recursive: true });
  const logFile = join(opts.logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  const proc = fork(script, opts.args ?? [], {
    env: opts.env,
    execArgv: opts.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  proc.stdout?.pipe(log, { end: false });
  proc.stderr?.pipe(log, { end: false });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${script})`);
  let exitedFlag = false;
  const exitPromise = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      exitedFlag = true;
      live.delete(child);
      resolve();
    }),
  );
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    logFile,
    exited: () => exitedFlag,
    message<T>(pick: (m: unknown) => m is T, timeoutMs = 60_000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (m: unknown): void => {
          if (!pick(m)) return;
          cleanup();
          resolve(m);
        };
        const onExit = (code: number | null, signal: string | null): void => {
          cleanup();
          reject(new Error(`${name} exited (${signal ?? code}) before answering; see ${logFile}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name} did not answer within ${timeoutMs / 1000}s; see ${logFile}`));
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
    async stop(timeoutMs = 5_000): Promise<void> {
      if (exitedFlag) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exitedFlag) proc.kill('SIGKILL');
      }, timeoutMs);
      await exitPromise;
      clearTimeout(timer);
      log.end();
    },
  };
  live.add(child);
  return child;
}

/** Stops every child still running (harness shutdown, also on failure). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop().catch(() => undefined)));
}

/** A free loopback port (listen on 0, read, close). The tiny race is acceptable on a benchmark machine. */
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

export async function waitForHttp(url: string, what: string, child: Child | null, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child?.exited()) throw new Error(`${what} exited during start-up; see ${child.logFile}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(200);
  }
  throw new Error(`${what} did not become ready at ${url} within ${timeoutMs / 1000}s${child ? `; see ${child.logFile}` : ''}`);
}

export interface ProcMemory {
  rssBytes: number;
  /** Peak resident set size (VmHWM): the high-water mark since the process started. */
  peakRssBytes: number;
}

/** Reads VmRSS/VmHWM from /proc/<pid>/status (Linux). */
export function readProcMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (clock ticks: 100/s on Linux). */
export function readProcCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
