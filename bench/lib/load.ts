import { join } from 'node:path';
import type { LoadFailure, LoadResult, LoadSpec, LoadTarget } from './load-spec';
import { spawnNode } from './procs';

/** Runs one autocannon load in a separate process (its own core) and returns its summary. */
export async function runLoad(
  paths: { distBench: string; logDir: string },
  name: string,
  baseUrl: string,
  target: LoadTarget,
  opts: { connections: number; durationSeconds: number },
): Promise<LoadResult> {
  const child = spawnNode(`load-${name}`, join(paths.distBench, 'support', 'load-child.js'), {
    env: { ...process.env },
    logDir: paths.logDir,
  });
  try {
    const spec: LoadSpec = { type: 'load', baseUrl, connections: opts.connections, durationSeconds: opts.durationSeconds, target };
    child.proc.send(spec);
    const answer = await child.message(
      (m): m is LoadResult | LoadFailure => !!m && typeof m === 'object' && ['load-result', 'load-error'].includes((m as { type: string }).type),
      (opts.durationSeconds + 60) * 1000,
    );
    if (answer.type === 'load-error') throw new Error(`load generator (${name}): ${answer.error}`);
    return answer;
  } finally {
    await child.stop();
  }
}

/** A load whose answers were mostly errors measures the error path, not the route: refuse to report it. */
export function assertMostlyOk(name: string, r: LoadResult): void {
  const bad = r.non2xx + r.errors + r.timeouts;
  if (!(r.requests > 0) || bad / r.requests > 0.01) {
    throw new Error(`${name}: ${bad} of ${r.requests} requests failed (status codes ${JSON.stringify(r.statusCodes)}, errors ${r.errors}, timeouts ${r.timeouts})`);
  }
}
