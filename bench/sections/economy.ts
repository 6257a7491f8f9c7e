import { requestJson } from '../lib/http';
import { assertMostlyOk, runLoad } from '../lib/load';
import { ratio, round } from '../lib/stats';
import { ApiReplica } from '../lib/stack';
import { ENV } from '../lib/env';
import type { BenchContext, World } from './context';
import { warmReplica } from './cold';

export interface EconomyResult {
  kms_calls_per_million_dek_fetches: number;
  kms_calls_analytic_min_per_million: number;
  cache_hit_ratio: number | null;
  economy: {
    seconds: number;
    kek_ttl_seconds: number;
    workspaces: number;
    dek_fetches: number;
    kms_decrypt_calls: number;
    kms_calls_all_ops: number;
    analytic_min_calls: number;
    analytic_min_source: string;
    ttl_window_calls: number;
    ratio_to_min: number | null;
    cache_hit_ratio_source: string;
  };
}

/**
 * KMS call economy over a mixed run with a short KEK TTL: random access over every workspace for D seconds.
 * The analytic minimum is one unwrap per workspace per TTL window (W × ⌈D / TTL⌉ when every workspace is hit in every
 * window); it is computed exactly by replaying the requests the load generator sent through a perfect TTL cache.
 */
export async function economy(ctx: BenchContext, world: World): Promise<EconomyResult> {
  const m = ctx.mode;
  const ttl = m.economyTtlSeconds;
  const api = await ApiReplica.start(ctx.paths, 'api-economy', ctx.env({ [ENV.kekCacheTtlSeconds]: String(ttl) }));
  try {
    const { fetchToken: token } = await warmReplica(api, world);
    const metricsBefore = await kekCacheMetrics(api.internalUrl);
    await ctx.admin.resetCounters();
    const run = await runLoad(
      ctx.paths,
      'economy',
      api.internalUrl,
      {
        kind: 'dek',
        token,
        workspaceIds: world.fetchWorkspaces,
        segmentsPerWorkspace: m.segmentsPerWorkspace,
        kekTtlSeconds: ttl,
      },
      { connections: m.connections, durationSeconds: m.economySeconds },
    );
    assertMostlyOk('economy run', run);
    const decrypts = await ctx.admin.count({ cloud: 'aws', operation: 'Decrypt' });
    const allCalls = await ctx.admin.count({ cloud: 'aws' });
    const metricsAfter = await kekCacheMetrics(api.internalUrl);

    const w = world.fetchWorkspaces.length;
    // W × TTL windows assumes every workspace is hit in every window; the exact minimum replays the requests
    // actually sent through a perfect TTL cache (fewer when the first seconds are slow and some windows are missed).
    const windowCalls = w * Math.ceil(m.economySeconds / ttl);
    const minCalls = run.minKekLoads ?? windowCalls;
    const perMillion = (calls: number): number => round((calls / Math.max(1, run.ok2xx)) * 1e6, 1);
    let hitRatio: number | null;
    let source: string;
    if (
      metricsBefore &&
      metricsAfter &&
      metricsAfter.hits + metricsAfter.misses > metricsBefore.hits + metricsBefore.misses
    ) {
      const hits = metricsAfter.hits - metricsBefore.hits;
      const misses = metricsAfter.misses - metricsBefore.misses;
      hitRatio = round(hits / (hits + misses), 5);
      source = `API /metrics (${metricsAfter.names.join(', ')})`;
    } else {
      hitRatio = run.ok2xx > 0 ? round(1 - decrypts / run.ok2xx, 5) : null;
      source = 'derived: 1 - KMS Decrypt calls / DEK fetches (no KEK cache hit/miss metric found on /metrics)';
    }
    return {
      kms_calls_per_million_dek_fetches: perMillion(decrypts),
      kms_calls_analytic_min_per_million: perMillion(minCalls),
      cache_hit_ratio: hitRatio,
      economy: {
        seconds: run.durationSeconds,
        kek_ttl_seconds: ttl,
        workspaces: w,
        dek_fetches: run.ok2xx,
        kms_decrypt_calls: decrypts,
        kms_calls_all_ops: allCalls,
        analytic_min_calls: minCalls,
        analytic_min_source:
          run.minKekLoads !== undefined
            ? 'perfect TTL cache replayed over the requests sent'
            : 'workspaces × TTL windows',
        ttl_window_calls: windowCalls,
        ratio_to_min: ratio(decrypts, minCalls),
        cache_hit_ratio_source: source,
      },
    };
  } finally {
    await api.stop();
  }
}

/** The API's KEK cache counters (apps/api/src/http/metrics.ts); null when /metrics does not expose them. */
async function kekCacheMetrics(baseUrl: string): Promise<{ hits: number; misses: number; names: string[] } | null> {
  const res = await requestJson<string>('metrics', `${baseUrl}/metrics`).catch(() => null);
  if (!res || res.status !== 200 || typeof res.body !== 'string') return null;
  const value = (name: string): number | null => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([0-9.eE+-]+)$`, 'm').exec(res.body);
    return m ? Number(m[1]) : null;
  };
  const names = ['keyhold_kek_cache_hits_total', 'keyhold_kek_cache_misses_total'];
  const [hits, misses] = names.map(value);
  return hits === null || misses === null ? null : { hits, misses, names };
}
