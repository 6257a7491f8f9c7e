import { mapLimit } from '../lib/http';
import { segmentId } from '../lib/keyhold';
import { round } from '../lib/stats';
import { ApiReplica } from '../lib/stack';
import { ENV } from '../lib/env';
import type { BenchContext, World } from './context';
import { warmReplica } from './cold';

export interface MemoryResult {
  memory: {
    kek_cache_bytes_per_workspace: number;
    heap_bytes_per_workspace: number;
    workspaces: number;
    rss_before_mb: number;
    rss_after_mb: number;
  };
}

/**
 * What one cached workspace costs in the API: RSS after a full GC with N more workspaces warm minus RSS before,
 * divided by N (plus V8 heap+external as a less noisy second opinion). A warm DEK fetch keeps per workspace its
 * KEK, its state/scope entry and the wrapped DEK row, so all of it is counted. The KEK cache is sized above the
 * population so nothing is evicted while filling it.
 */
export async function memory(ctx: BenchContext, world: World): Promise<MemoryResult> {
  const n = world.scaleWorkspaces.length;
  const api = await ApiReplica.start(ctx.paths, 'api-mem', ctx.env({ [ENV.kekCacheMaxEntries]: String(n + 1_000) }));
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
    const before = await api.settledMemory();
    await fill(measuredSet);
    const after = await api.settledMemory();
    const k = measuredSet.length;
    return {
      memory: {
        kek_cache_bytes_per_workspace: Math.round((after.rssBytes - before.rssBytes) / k),
        heap_bytes_per_workspace: Math.round((after.heapUsed + after.external - before.heapUsed - before.external) / k),
        workspaces: k,
        rss_before_mb: round(before.rssBytes / 2 ** 20, 1),
        rss_after_mb: round(after.rssBytes / 2 ** 20, 1),
      },
    };
  } finally {
    await api.stop();
  }
}
