import { join } from 'node:path';
import type { LoadFailure, LoadResult, LoadSpec, LoadTarget } from './load-spec';
import { spawnNode } from '../../stack';
import { readProcCpuSeconds } from './procs';
import { runWrk, wrkAvailable } from './wrk';

let wrkChecked: boolean | undefined;

/**
 * Runs one load in a separate process (its own core) and returns its summary: wrk for GET loads when it is
 * installed (far cheaper per request than the server it measures), autocannon otherwise and for batches and
 * traced loads.
 */
export async function runLoad(
  paths: { distBench: string; logDir: string },
  name: string,
  baseUrl: string,
  target: LoadTarget,
  opts: { connections: number; durationSeconds: number; serverPid?: number },
): Promise<LoadResult> {
  wrkChecked ??= wrkAvailable();
  const getLoad = target.kind === 'fixed' || (target.kind === 'dek' && target.kekTtlSeconds === undefined);
  if (wrkChecked && getLoad) return runWrk(paths.logDir, name, baseUrl, target, opts);
  const child = spawnNode(`load-${name}`, join(paths.distBench, 'support', 'load-child.js'), {
    env: { ...process.env },
    logDir: paths.logDir,
    ipc: true,
  });
  try {
    const spec: LoadSpec = {
      type: 'load',
      baseUrl,
      connections: opts.connections,
      durationSeconds: opts.durationSeconds,
      target,
    };
    // CPU of the server and of the generator over the run: which side was saturated decides what the rate means.
    const cpu0 = {
      server: opts.serverPid ? readProcCpuSeconds(opts.serverPid) : 0,
      gen: readProcCpuSeconds(child.pid),
      at: Date.now(),
    };
    child.proc.send(spec);
    const answer = await child.message(
      (m): m is LoadResult | LoadFailure =>
        !!m && typeof m === 'object' && ['load-result', 'load-error'].includes((m as { type: string }).type),
      (opts.durationSeconds + 60) * 1000,
    );
    if (answer.type === 'load-error') throw new Error(`load generator (${name}): ${answer.error}`);
    const wall = (Date.now() - cpu0.at) / 1000;
    const genCpu = readProcCpuSeconds(child.pid) - cpu0.gen;
    const serverCpu = opts.serverPid ? readProcCpuSeconds(opts.serverPid) - cpu0.server : undefined;
    return {
      ...answer,
      generator: 'autocannon',
      generatorCpuShare: Math.round((genCpu / wall) * 100) / 100,
      ...(serverCpu !== undefined
        ? {
            serverCpuShare: Math.round((serverCpu / wall) * 100) / 100,
            serverCpuUsPerRequest:
              answer.requests > 0 ? Math.round(((serverCpu * 1e6) / answer.requests) * 10) / 10 : undefined,
          }
        : {}),
    };
  } finally {
    await child.stop();
  }
}

/** A load whose answers were mostly errors measures the error path, not the route: refuse to report it. */
export function assertMostlyOk(name: string, r: LoadResult): void {
  const bad = r.non2xx + r.errors + r.timeouts;
  if (!(r.requests > 0) || bad / r.requests > 0.01) {
    throw new Error(
      `${name}: ${bad} of ${r.requests} requests failed (status codes ${JSON.stringify(r.statusCodes)}, errors ${r.errors}, timeouts ${r.timeouts})`,
    );
  }
}
