import { mapLimit } from '../lib/http';
import { segmentId } from '../lib/keyhold';
import { round, slope } from '../lib/stats';
import { ApiReplica } from '../lib/stack';
import { ENV } from '../lib/env';
import type { BenchContext, World } from './context';
import { warmReplica } from './cold';

const PINNED_YOUNG_GENERATION = ['--min-semi-space-size=16', '--max-semi-space-size=16'];

export interface MemoryResult {
  memory: {
    kek_cache_bytes_per_workspace: number;
    /** Which slope the headline figure is: RSS, or the heap when the RSS slope fell below it. */
    source: string;
    rss_slope_bytes_per_workspace: number;
    heap_bytes_per_workspace: number;
    /** (last − first) / N: the naive figure, for comparison with the fitted slope. */
    rss_endpoints_bytes_per_workspace: number;
    workspaces: number;
    steps: number;
    rss_before_mb: number;
    rss_after_mb: number;
    /**
     * What one more cached plaintext DEK costs: the per-DEK slope (V8 heap + external, after a full GC) of a replica
     * caching DEKs minus that of a replica with the DEK cache off, both filled with the same DEKs through batch
     * fetches (the wrapped rows and everything else a fetch leaves cancel out).
     */
    dek_cache_bytes_per_dek: number | null;
    dek_cache_rss_bytes_per_dek: number | null;
    dek_cache_deks: number;
  };
}

/**
 * What one cached workspace costs in the API: RSS after a full GC with N more workspaces warm minus RSS before,
 * divided by N (plus V8 heap+external as a less noisy second opinion). A warm DEK fetch keeps per workspace its
 * KEK, its state/scope entry, the wrapped DEK row and that DEK's plaintext (cached under the KEK), so all of it is
 * counted. The KEK cache is sized above the population so nothing is evicted while filling it. Then what one cached
 * plaintext DEK costs, from two more replicas (DEK cache on and off).
 */
export async function memory(ctx: BenchContext, world: World): Promise<MemoryResult> {
  const n = world.scaleWorkspaces.length;
  // The young generation is pinned to one size: V8 otherwise grows it under load and shrinks it when idle, which
  // moves RSS by tens of MB between two readings and says nothing about what a cached workspace costs.
  const api = await ApiReplica.start(
    ctx.paths,
    'api-mem',
    ctx.env({ [ENV.kekCacheMaxEntries]: String(n + 1_000) }),
    PINNED_YOUNG_GENERATION,
  );
  try {
    const { client, tokens } = await warmReplica(api, world);
    const fill = (list: string[]) =>
      mapLimit(list, 16, async (ws) => {
        const res = await client.dek(tokens.get(ws)!, ws, segmentId(0));
        if (res.status !== 200) throw new Error(`DEK fetch of ${ws} answered ${res.status}`);
      });
    // One-time costs (pool connections, JIT tiering, caches' first allocations) land in the first slice, before the
    // baseline; the per-workspace figure comes from the rest only. The first slice is fetched twice so the code
    // paths of a warm and of a cold workspace are both optimised before the baseline (otherwise a small run counts
    // compiled code as per-workspace memory).
    const firstSlice = Math.max(150, Math.floor(n / 5));
    await fill(world.scaleWorkspaces.slice(0, firstSlice));
    await fill(world.scaleWorkspaces.slice(0, firstSlice));
    const measuredSet = world.scaleWorkspaces.slice(firstSlice);
    // RSS after a full GC moves in page-sized and arena-sized steps, and V8 may hand pages back between two
    // readings: one before/after pair can even come out negative. Fill in steps and fit a line through all the
    // readings (least squares); the slope is the cost of one more cached workspace.
    const steps = 4;
    const points: Array<{ n: number; rss: number; heap: number }> = [];
    const read = async (n: number) => {
      const m = await api.settledMemory();
      points.push({ n, rss: m.rssBytes, heap: m.heapUsed + m.external });
    };
    await read(0);
    for (let i = 1; i <= steps; i++) {
      const from = Math.floor(((i - 1) * measuredSet.length) / steps);
      const to = Math.floor((i * measuredSet.length) / steps);
      await fill(measuredSet.slice(from, to));
      await read(to);
    }
    const k = measuredSet.length;
    await api.stop();
    const dek = await dekCacheBytes(ctx, world);
    const rssSlope = slope(points.map((p) => [p.n, p.rss]));
    const heapSlope = slope(points.map((p) => [p.n, p.heap]));
    const first = points[0];
    const last = points[points.length - 1];
    return {
      memory: {
        // RSS cannot grow by less than the heap that was added: when it does (V8 returned pooled pages while the
        // cache filled), the RSS slope is noise and the heap slope is the honest lower bound.
        kek_cache_bytes_per_workspace: Math.round(Math.max(rssSlope, heapSlope)),
        source: rssSlope >= heapSlope ? 'rss' : 'heap (RSS fell while the cache filled: V8 returned pooled pages)',
        rss_slope_bytes_per_workspace: Math.round(rssSlope),
        heap_bytes_per_workspace: Math.round(heapSlope),
        rss_endpoints_bytes_per_workspace: Math.round((last.rss - first.rss) / k),
        workspaces: k,
        steps,
        rss_before_mb: round(first.rss / 2 ** 20, 1),
        rss_after_mb: round(last.rss / 2 ** 20, 1),
        dek_cache_bytes_per_dek: dek.heap,
        dek_cache_rss_bytes_per_dek: dek.rss,
        dek_cache_deks: dek.deks,
      },
    };
  } finally {
    await api.stop();
  }
}

/** Slopes (bytes per DEK) of one replica filled with every seeded DEK of the fetch workspaces, in steps. */
async function fillSlopes(
  ctx: BenchContext,
  world: World,
  name: string,
  env: Record<string, string>,
): Promise<{ heap: number; rss: number; deks: number }> {
  const api = await ApiReplica.start(
    ctx.paths,
    name,
    ctx.env({ ...env, [ENV.kekCacheMaxEntries]: String(world.fetchWorkspaces.length + 1_000) }),
    PINNED_YOUNG_GENERATION,
  );
  try {
    const { client, fetchToken } = await warmReplica(api, world);
    const per = ctx.mode.segmentsPerWorkspace;
    const segments = Array.from({ length: per }, (_, i) => segmentId(i));
    const fill = (list: string[]) => mapLimit(list, 8, (ws) => client.batchGet(fetchToken, ws, segments));
    // JIT and first allocations before the baseline (the first slice fetched twice, as above).
    const first = Math.max(20, Math.floor(world.fetchWorkspaces.length / 5));
    await fill(world.fetchWorkspaces.slice(0, first));
    await fill(world.fetchWorkspaces.slice(0, first));
    const rest = world.fetchWorkspaces.slice(first);
    const points: Array<{ n: number; rss: number; heap: number }> = [];
    const read = async (n: number) => {
      const m = await api.settledMemory();
      points.push({ n, rss: m.rssBytes, heap: m.heapUsed + m.external });
    };
    await read(0);
    const steps = 4;
    for (let i = 1; i <= steps; i++) {
      const from = Math.floor(((i - 1) * rest.length) / steps);
      const to = Math.floor((i * rest.length) / steps);
      await fill(rest.slice(from, to));
      await read(to * per);
    }
    return {
      heap: slope(points.map((p) => [p.n, p.heap])),
      rss: slope(points.map((p) => [p.n, p.rss])),
      deks: rest.length * per,
    };
  } finally {
    await api.stop();
  }
}

async function dekCacheBytes(
  ctx: BenchContext,
  world: World,
): Promise<{ heap: number | null; rss: number | null; deks: number }> {
  const on = await fillSlopes(ctx, world, 'api-mem-deks', {});
  const off = await fillSlopes(ctx, world, 'api-mem-nodeks', { [ENV.dekCacheMaxBytes]: '0' });
  ctx.log(
    `memory: per DEK with the DEK cache ${Math.round(on.heap)} B heap / ${Math.round(on.rss)} B RSS, without ${Math.round(off.heap)} B / ${Math.round(off.rss)} B`,
  );
  return { heap: Math.round(on.heap - off.heap), rss: Math.round(on.rss - off.rss), deks: on.deks };
}
