import type { KeyholdConfig } from '../libs/config/src';
import { startWorker as startWorkerApp, type RunningWorker, type StartWorkerOptions } from '../apps/worker/src/worker';
import { FAST_WORKER_SETTINGS } from './config';
import { entryPoint, NodeChild, spawnNode } from './processes';

/** The worker in this process, with the fast settings unless overridden. */
export function startWorker(config: KeyholdConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  return startWorkerApp(config, { ...options, settings: { ...FAST_WORKER_SETTINGS, ...(options.settings ?? {}) } });
}

export interface WorkerProcess extends NodeChild {
  /** Resolves with the metrics URL once the worker logged that it started (rejects if it exits first). */
  readonly ready: Promise<string>;
}

/** The real worker entry point (apps/worker/src/main) as a child process, so a suite can SIGKILL it. */
export function spawnWorker(env: NodeJS.ProcessEnv, options: { name?: string; logDir?: string } = {}): WorkerProcess {
  const { script, execArgv } = entryPoint('apps/worker/src/main');
  const child = spawnNode(options.name ?? 'worker', script, { env, execArgv, logDir: options.logDir });
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (): void => {
      const m = /keyhold worker started \(metrics on (http:\/\/[^)\s]+)\)/.exec(child.output());
      if (m) resolve(m[1]);
    };
    child.proc.stdout!.on('data', onData);
    child.proc.stderr!.on('data', onData);
    void child.exited.then(({ code, signal }) =>
      reject(
        new Error(`worker exited before it was ready (code ${code}, signal ${signal}): ${child.output().slice(-2000)}`),
      ),
    );
  });
  ready.catch(() => undefined);
  return Object.assign(child, { ready });
}
