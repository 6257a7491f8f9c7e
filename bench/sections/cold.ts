import { performance } from 'node:perf_hooks';
import { KeyholdClient, segmentId } from '../lib/keyhold';
import { median, percentile, ratio, round } from '../lib/stats';
import { ApiReplica } from '../lib/stack';
import type { BenchContext, World } from './context';
import { tokensByWorkspace } from './seed';

export interface ColdResult {
  single_flight: {
    concurrent: number;
    kms_calls: number;
    non_200: number;
    injected_ms: number;
    multi: { workspaces: number; per_workspace: number; kms_calls: number; non_200: number };
  };
  cold_fetch: {
    ms: number;
    p90_ms: number;
    injected_ms: number;
    ratio: number | null;
    samples: number;
    kms_calls_per_fetch: number;
    warm_ms: number;
    direct_kms_ms: number;
    ratio_vs_direct_kms: number | null;
  };
}

/** A fresh replica's first fetch, so the assumed-role credentials and KMS client are warm before measuring. */
export async function warmReplica(
  api: ApiReplica,
  world: World,
): Promise<{ client: KeyholdClient; tokens: Map<string, string>; fetchToken: string }> {
  const client = new KeyholdClient(api.url, api.internalUrl);
  const tokens = await tokensByWorkspace(client, world);
  const res = await client.dek(tokens.get(world.warmupWorkspace)!, world.warmupWorkspace, segmentId(0));
  if (res.status !== 200) throw new Error(`warm-up DEK fetch answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { client, tokens, fetchToken: tokens.get(world.fetchWorkspaces[0])! };
}

/**
 * Single flight and the cold path, on one fresh replica whose KEK cache is empty: every workspace used here was
 * bound and seeded through the control replica only.
 */
export async function coldPath(ctx: BenchContext, world: World): Promise<ColdResult> {
  const m = ctx.mode;
  const injected = m.injectedLatencyMs;
  const api = await ApiReplica.start(ctx.paths, 'api-cold', ctx.env());
  try {
    const { client, tokens } = await warmReplica(api, world);
    const token = (ws: string): string => tokens.get(ws)!;

    // Single flight: the KMS answers after `injected` ms so the concurrent misses really overlap.
    await ctx.admin.clearFaults();
    await ctx.admin.addFault({ cloud: 'aws', kind: 'latency', latencyMs: injected });
    await ctx.admin.resetCounters();
    const one = await Promise.all(
      Array.from({ length: m.singleFlightConcurrent }, (_, i) =>
        client.dek(token(world.singleFlightWorkspace), world.singleFlightWorkspace, segmentId(i), 60_000),
      ),
    );
    const oneCalls = await ctx.admin.count({ cloud: 'aws', operation: 'Decrypt' });

    await ctx.admin.resetCounters();
    const multi = await Promise.all(
      world.multiColdWorkspaces.flatMap((ws) =>
        Array.from({ length: m.multiColdPerWorkspace }, (_, i) => client.dek(token(ws), ws, segmentId(i), 60_000)),
      ),
    );
    const multiCalls = await ctx.admin.count({ cloud: 'aws', operation: 'Decrypt' });

    // Cold path: one first fetch at a time, each of a workspace this replica has never seen.
    await ctx.admin.resetCounters();
    const coldMs: number[] = [];
    for (const ws of world.coldSampleWorkspaces) {
      const t0 = performance.now();
      const res = await client.dek(token(ws), ws, segmentId(0));
      const ms = performance.now() - t0;
      if (res.status !== 200)
        throw new Error(`cold fetch of ${ws} answered ${res.status}: ${JSON.stringify(res.body)}`);
      coldMs.push(ms);
    }
    const coldCalls = await ctx.admin.count({ cloud: 'aws' });
    // The same requests warm, for reference (what the cold path adds on top of the HTTP round trip).
    const warmMs: number[] = [];
    for (const ws of world.coldSampleWorkspaces) {
      const t0 = performance.now();
      await client.dek(token(ws), ws, segmentId(0));
      warmMs.push(performance.now() - t0);
    }
    // The smallest possible cold path: one direct SDK Decrypt from the harness under the same injected latency.
    const direct = await ctx.customer.directDecryptMs(world.keyArn, Math.max(5, Math.min(15, m.coldSamples)));
    await ctx.admin.clearFaults();

    const coldMedian = round(median(coldMs), 2);
    return {
      single_flight: {
        concurrent: m.singleFlightConcurrent,
        kms_calls: oneCalls,
        non_200: one.filter((r) => r.status !== 200).length,
        injected_ms: injected,
        multi: {
          workspaces: world.multiColdWorkspaces.length,
          per_workspace: m.multiColdPerWorkspace,
          kms_calls: multiCalls,
          non_200: multi.filter((r) => r.status !== 200).length,
        },
      },
      cold_fetch: {
        ms: coldMedian,
        p90_ms: round(percentile(coldMs, 90), 2),
        injected_ms: injected,
        ratio: ratio(coldMedian, injected),
        samples: coldMs.length,
        kms_calls_per_fetch: round(coldCalls / coldMs.length, 2),
        warm_ms: round(median(warmMs), 2),
        direct_kms_ms: round(median(direct), 2),
        ratio_vs_direct_kms: ratio(coldMedian, median(direct)),
      },
    };
  } finally {
    await ctx.admin.clearFaults().catch(() => undefined);
    await api.stop();
  }
}
