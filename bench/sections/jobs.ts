import { performance } from 'node:perf_hooks';
import { mapLimit } from '../lib/http';
import { segmentId } from '../lib/keyhold';
import { ENV } from '../lib/env';
import { freePort, sleep } from '../../stack';
import { readProcMemory } from '../lib/procs';
import { ratio, round } from '../lib/stats';
import { startWorkerChild } from '../lib/stack';
import type { BenchContext, World } from './context';
import { tokensByWorkspace } from './seed';

export interface RewrapResult {
  rewrap: {
    workspaces: number;
    seconds: number;
    bound_seconds: number;
    ratio: number | null;
    rate_per_s: number;
    injected_ms: number;
    kms_calls: number;
    kms_calls_per_workspace: number;
    kms_calls_by_operation: Record<string, number>;
    worker_concurrency: string;
    failed: number;
  };
}

export interface KekRotationResult {
  kek_rotation: {
    deks: number;
    seconds: number;
    deks_per_s: number;
    worker_peak_rss_mb: number;
    kek_version_before: number | null;
    kek_version_after: number | null;
    sample_deks_unchanged: boolean;
  };
}

/** Polls operations until every one is finished; returns when the last finished and how many failed. */
async function awaitOperations(
  ctx: BenchContext,
  tenantId: string,
  ids: string[],
  timeoutMs: number,
): Promise<{ endedAt: number; failed: number; lastError: unknown }> {
  const until = Date.now() + timeoutMs;
  let failed = 0;
  let lastError: unknown = null;
  let token = await ctx.adminToken();
  // Operations finish roughly in order: advance a cursor over finished ones, re-checking the first unfinished.
  for (let i = 0; i < ids.length;) {
    if (Date.now() > until)
      throw new Error(`${ids.length - i} of ${ids.length} operations still unfinished after ${timeoutMs / 1000}s`);
    const op = await ctx.client.operation(token, tenantId, ids[i]);
    if (op.state === 'succeeded' || op.state === 'failed') {
      if (op.state === 'failed') {
        failed++;
        lastError = op.error;
      }
      i++;
      continue;
    }
    await sleep(100);
    token = await ctx.adminToken();
  }
  return { endedAt: performance.now(), failed, lastError };
}

function workerEnv(ctx: BenchContext, extra: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  return freePort().then((port) => ctx.env({ [ENV.workerMetricsPort]: String(port), ...extra }));
}

/**
 * CMK rewrap of every workspace bound to one configuration, with `injected` ms KMS latency and the worker's provider
 * rate limited to R calls/s. A rewrap is (at least) one unwrap + one wrap, so 2N/R seconds is the floor the rate
 * limit imposes; the ratio says how close the worker gets to it.
 */
export async function rewrap(ctx: BenchContext, world: World): Promise<RewrapResult> {
  const m = ctx.mode;
  const r = m.rewrapRate;
  const worker = await startWorkerChild(
    ctx.paths,
    'worker-rewrap',
    await workerEnv(ctx, { [ENV.providerRatePerSecond]: String(r), [ENV.keyConfigurationRatePerSecond]: String(r) }),
  );
  try {
    await ctx.admin.clearFaults();
    await ctx.admin.addFault({ cloud: 'aws', kind: 'latency', latencyMs: m.injectedLatencyMs });
    await ctx.admin.resetCounters();
    const token = await ctx.adminToken();
    const t0 = performance.now();
    const ids = await mapLimit(world.scaleWorkspaces, 16, (ws) =>
      ctx.client.requestOperation(token, world.tenantId, ws, 'cmk-rewrap'),
    );
    const bound = (2 * ids.length) / r;
    const done = await awaitOperations(ctx, world.tenantId, ids, Math.max(120_000, bound * 5_000));
    const seconds = (done.endedAt - t0) / 1000;
    const calls = await ctx.admin.count({ cloud: 'aws' });
    const byOperation = await ctx.admin.byOperation('aws');
    if (done.failed > 0)
      ctx.log(`rewrap: ${done.failed} operations failed, last error ${JSON.stringify(done.lastError)}`);
    return {
      rewrap: {
        workspaces: ids.length,
        seconds: round(seconds, 2),
        bound_seconds: round(bound, 2),
        ratio: ratio(seconds, bound),
        rate_per_s: r,
        injected_ms: m.injectedLatencyMs,
        kms_calls: calls,
        kms_calls_per_workspace: round(calls / ids.length, 2),
        kms_calls_by_operation: byOperation,
        worker_concurrency: 'default (KEYHOLD_WORKER_CONCURRENCY unset)',
        failed: done.failed,
      },
    };
  } finally {
    await ctx.admin.clearFaults().catch(() => undefined);
    await worker.stop();
  }
}

/**
 * KEK rotation of one workspace holding D DEKs: DEKs/s from request to success, and the worker's peak RSS (VmHWM of
 * a worker started just for this). A sample of DEKs is fetched before and after: rotation must not change them.
 */
export async function kekRotation(ctx: BenchContext, world: World): Promise<KekRotationResult> {
  const m = ctx.mode;
  const worker = await startWorkerChild(ctx.paths, 'worker-kek-rotation', await workerEnv(ctx, {}));
  try {
    await ctx.admin.clearFaults();
    const service = (await tokensByWorkspace(ctx.client, world)).get(world.rotationWorkspace)!;
    const sample = Array.from({ length: 100 }, (_, i) => segmentId(Math.floor((i * m.kekRotationDeks) / 100)));
    const before = await ctx.client.batchGet(service, world.rotationWorkspace, sample);
    const token = await ctx.adminToken();
    const t0 = performance.now();
    const id = await ctx.client.requestOperation(token, world.tenantId, world.rotationWorkspace, 'kek-rotation');
    const done = await awaitOperations(ctx, world.tenantId, [id], 30 * 60_000);
    const seconds = (done.endedAt - t0) / 1000;
    if (done.failed) throw new Error(`KEK rotation failed: ${JSON.stringify(done.lastError)}`);
    const peak = readProcMemory(worker.pid).peakRssBytes;
    const after = await ctx.client.batchGet(service, world.rotationWorkspace, sample);
    const unchanged = before.every((d, i) => d.dek === after[i].dek);
    return {
      kek_rotation: {
        deks: m.kekRotationDeks,
        seconds: round(seconds, 2),
        deks_per_s: Math.round(m.kekRotationDeks / seconds),
        worker_peak_rss_mb: round(peak / 2 ** 20, 1),
        kek_version_before: before[0]?.kekVersion ?? null,
        kek_version_after: after[0]?.kekVersion ?? null,
        sample_deks_unchanged: unchanged,
      },
    };
  } finally {
    await worker.stop();
  }
}
