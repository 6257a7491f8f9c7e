import { join } from 'node:path';
import { mapLimit, requestJson } from '../lib/http';
import { KeyholdClient, segmentId } from '../lib/keyhold';
import { assertMostlyOk, runLoad } from '../lib/load';
import type { LoadResult } from '../lib/load-spec';
import { summariseProfile, ProfileSummary } from '../lib/profile';
import { median, ratio, round } from '../lib/stats';
import { ApiReplica } from '../lib/stack';
import type { BenchContext, World } from './context';

/** The ceiling route the API serves when KEYHOLD_BENCH_CEILING_ROUTE=1, and the preload's fallback. */
export const API_CEILING_PATH = '/__bench/ceiling';
export const INJECTED_CEILING_PATH = '/__bench/injected-ceiling';

export interface DekFetchResult {
  dek_fetch: {
    rps: number;
    ceiling_rps: number;
    ratio: number | null;
    p50_ms: number;
    p99_ms: number;
    ceiling_p50_ms: number;
    ceiling_p99_ms: number;
    connections: number;
    seconds: number;
    rounds: number;
    workspaces: number;
    segments: number;
    ceiling_route: string;
    /** Load generator used for both sides of the ratio. */
    generator: string;
    /** Server CPU per request (µs, from /proc) on each side, and their ratio: what the DEK logic costs, independent of the generator. */
    server_cpu_us_per_request: number | null;
    ceiling_server_cpu_us_per_request: number | null;
    cpu_ratio: number | null;
    server_cpu_cores: number | null;
    ceiling_server_cpu_cores: number | null;
  };
  batch: { deks_per_s: number; requests_per_s: number; batch_size: number; p50_ms: number; p99_ms: number };
  profile: ProfileSummary | null;
  ceiling_profile: ProfileSummary | null;
}

/**
 * DEK fetch against the HTTP ceiling, in the same replica and the same run, interleaved round by round (the machine
 * is noisy; only same-run ratios mean anything). Warm KEK cache, random access over every seeded segment.
 */
export async function dekFetch(ctx: BenchContext, world: World): Promise<DekFetchResult> {
  const m = ctx.mode;
  const api = await ApiReplica.start(ctx.paths, 'api-hot', ctx.env());
  try {
    const fetcher = world.principals[0];
    const token = await new KeyholdClient(api.url, api.internalUrl).serviceToken(
      fetcher.clientId,
      fetcher.clientSecret,
    );
    const ceilingPath = await findCeiling(api.internalUrl);
    // Warm: every workspace's KEK and DEKs through the measured replica, then a short JIT warm-up under load.
    await mapLimit(world.fetchWorkspaces, 8, async (ws) => {
      const res = await requestJson(`warm ${ws}`, `${api.internalUrl}/internal/v1/workspaces/${ws}/deks:batchGet`, {
        method: 'POST',
        token,
        body: { segmentIds: Array.from({ length: m.segmentsPerWorkspace }, (_, i) => segmentId(i)) },
      });
      if (res.status !== 200) throw new Error(`warm-up batch for ${ws} answered ${res.status}`);
    });
    const dekTarget = {
      kind: 'dek' as const,
      token,
      workspaceIds: world.fetchWorkspaces,
      segmentsPerWorkspace: m.segmentsPerWorkspace,
    };
    const load = { connections: m.connections, durationSeconds: m.loadSeconds, serverPid: api.child.pid };
    await runLoad(ctx.paths, 'warmup', api.internalUrl, dekTarget, { connections: m.connections, durationSeconds: 3 });
    if (ceilingPath)
      await runLoad(
        ctx.paths,
        'warmup-ceiling',
        api.internalUrl,
        { kind: 'fixed', method: 'GET', path: ceilingPath },
        { connections: m.connections, durationSeconds: 2 },
      );

    const rounds = m.name === 'full' ? 3 : 1;
    const ceil: LoadResult[] = [];
    const dek: LoadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      if (ceilingPath) {
        const c = await runLoad(
          ctx.paths,
          `ceiling-${r}`,
          api.internalUrl,
          { kind: 'fixed', method: 'GET', path: ceilingPath },
          load,
        );
        assertMostlyOk('ceiling route', c);
        ceil.push(c);
      }
      const d = await runLoad(ctx.paths, `dek-${r}`, api.internalUrl, dekTarget, load);
      assertMostlyOk('DEK fetch', d);
      dek.push(d);
      const cpu = (x: LoadResult) =>
        `server ${x.serverCpuShare} cores, ${x.serverCpuUsPerRequest} µs/req; generator ${x.generatorCpuShare} cores`;
      ctx.log(
        `dek-fetch round ${r + 1}/${rounds}: dek ${Math.round(d.rps)} rps p99 ${d.p99Ms} ms (${cpu(d)})${ceil[r] ? `; ceiling ${Math.round(ceil[r].rps)} rps (${cpu(ceil[r])})` : ''}`,
      );
    }
    const batch = await runLoad(
      ctx.paths,
      'batch',
      api.internalUrl,
      {
        kind: 'batch',
        token,
        workspaceIds: world.fetchWorkspaces,
        segmentsPerWorkspace: m.segmentsPerWorkspace,
        batchSize: m.batchSize,
      },
      load,
    );
    assertMostlyOk('batch DEK fetch', batch);

    let profile: ProfileSummary | null = null;
    let ceilingProfile: ProfileSummary | null = null;
    if (ctx.profile) {
      const file = join(ctx.paths.resultsDir, 'dek-fetch.cpuprofile');
      await api.profileStart();
      const profiled = await runLoad(ctx.paths, 'profile', api.internalUrl, dekTarget, {
        connections: m.connections,
        durationSeconds: Math.min(10, m.loadSeconds),
      });
      await api.profileStop(file);
      profile = summariseProfile(file, 30, profiled.requests);
      if (ceilingPath) {
        // The same profile of the ceiling route: what the framework and the HTTP stack cost with no DEK logic.
        const cfile = join(ctx.paths.resultsDir, 'ceiling.cpuprofile');
        await api.profileStart();
        const cp = await runLoad(
          ctx.paths,
          'profile-ceiling',
          api.internalUrl,
          { kind: 'fixed', method: 'GET', path: ceilingPath },
          { connections: m.connections, durationSeconds: Math.min(10, m.loadSeconds) },
        );
        await api.profileStop(cfile);
        ceilingProfile = summariseProfile(cfile, 30, cp.requests);
      }
    }

    const dekRps = median(dek.map((d) => d.rps));
    const ceilingRps = ceil.length ? median(ceil.map((c) => c.rps)) : 0;
    return {
      dek_fetch: {
        rps: Math.round(dekRps),
        ceiling_rps: Math.round(ceilingRps),
        ratio: ratio(dekRps, ceilingRps),
        p50_ms: median(dek.map((d) => d.p50Ms)),
        p99_ms: median(dek.map((d) => d.p99Ms)),
        ceiling_p50_ms: ceil.length ? median(ceil.map((c) => c.p50Ms)) : 0,
        ceiling_p99_ms: ceil.length ? median(ceil.map((c) => c.p99Ms)) : 0,
        connections: m.connections,
        seconds: m.loadSeconds,
        rounds,
        workspaces: world.fetchWorkspaces.length,
        segments: world.fetchWorkspaces.length * m.segmentsPerWorkspace,
        ceiling_route: ceilingPath ?? 'none (no ceiling route reachable)',
        generator: dek[0]?.generator ?? 'autocannon',
        server_cpu_us_per_request: medianOf(dek.map((d) => d.serverCpuUsPerRequest)),
        ceiling_server_cpu_us_per_request: medianOf(ceil.map((c) => c.serverCpuUsPerRequest)),
        cpu_ratio: (() => {
          const d = medianOf(dek.map((x) => x.serverCpuUsPerRequest));
          const c = medianOf(ceil.map((x) => x.serverCpuUsPerRequest));
          return d && c ? ratio(c, d) : null;
        })(),
        server_cpu_cores: medianOf(dek.map((d) => d.serverCpuShare)),
        ceiling_server_cpu_cores: medianOf(ceil.map((c) => c.serverCpuShare)),
      },
      batch: {
        deks_per_s: Math.round(batch.rps * m.batchSize),
        requests_per_s: round(batch.rps, 1),
        batch_size: m.batchSize,
        p50_ms: batch.p50Ms,
        p99_ms: batch.p99Ms,
      },
      profile,
      ceiling_profile: ceilingProfile,
    };
  } finally {
    await api.stop();
  }
}

function medianOf(xs: Array<number | undefined>): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? median(v) : null;
}

export async function findCeiling(baseUrl: string): Promise<string | null> {
  for (const path of [API_CEILING_PATH, INJECTED_CEILING_PATH]) {
    const res = await requestJson('ceiling probe', `${baseUrl}${path}`).catch(() => null);
    if (res?.status === 200) return path;
  }
  return null;
}
