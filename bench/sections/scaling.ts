import { Client } from 'pg';
import Redis from 'ioredis';
import { mapLimit } from '../lib/http';
import { KeyholdClient, segmentId } from '../lib/keyhold';
import { assertMostlyOk, runLoad } from '../lib/load';
import { PopulationBuilder, populationTokens } from '../lib/population';
import { ratio, round } from '../lib/stats';
import { ApiReplica } from '../lib/stack';
import { ENV } from '../lib/env';
import type { BenchContext, World } from './context';
import { findCeiling } from './dek-fetch';

export interface ScalingPoint {
  workspaces: number;
  /** Warm DEK fetches, random access over every workspace of this size (one segment each), on one replica. */
  dek_rps: number;
  ceiling_rps: number;
  ratio: number | null;
  p99_ms: number;
  server_cpu_us_per_request: number | null;
  /** Filling the replica's cache from cold: workspaces per second, and KMS unwraps per workspace. */
  warmup_workspaces_per_s: number;
  kms_decrypts_per_workspace: number;
  /** Heap (after a full GC) of the warm replica per cached workspace, and its RSS. */
  heap_bytes_per_workspace: number;
  rss_mb: number;
}

export interface ScalingResult {
  scaling: {
    sizes: ScalingPoint[];
    postgres: {
      bytes_per_workspace: number | null;
      bytes_per_dek: number | null;
      deks: number;
      workspaces: number;
      tables: Record<string, { rows: number; bytes: number }>;
    };
    redis: { bytes: number; keys: number; workspaces: number; bytes_per_10k_workspaces: number };
  };
  kms_calls_per_s_per_10k_workspaces: {
    /** Cache refills of one API replica with all 10k workspaces active: 10k × unwraps per workspace per TTL / TTL. */
    per_api_replica: number;
    kek_ttl_seconds: number;
    measured_unwraps_per_workspace_per_ttl: number;
    /** Probes are per key configuration, not per workspace: one probe per configuration per interval. */
    probes_per_s_per_1k_configurations: number;
    probe_interval_seconds: number;
  };
}

/** Product defaults the capacity model is stated for (libs/config): KEK cache TTL and probe interval. */
const DEFAULT_KEK_TTL_SECONDS = 300;
const DEFAULT_PROBE_INTERVAL_SECONDS = 60;

/**
 * How one API replica behaves as the population it serves grows (1k, 10k, 100k workspaces in a full run): per size, a
 * fresh replica warms every workspace from cold (KMS unwraps counted), its memory is read after a full GC, then the
 * DEK route is loaded with random access over the whole population against the ceiling route of the same replica.
 * Then what Postgres and Redis hold for the population. The scaling curve behind docs/CAPACITY.md.
 */
export async function scaling(ctx: BenchContext, world: World): Promise<ScalingResult> {
  const m = ctx.mode;
  const builder = new PopulationBuilder(ctx, world);
  const largest = Math.max(...m.scalingSizes);
  const points: ScalingPoint[] = [];
  for (const size of m.scalingSizes) {
    // the population grows as the sizes do (extra tenants only for sizes beyond the seeded world)
    await builder.grow(size);
    const pop = await builder.take(size);
    const api = await ApiReplica.start(
      ctx.paths,
      `api-scale-${size}`,
      ctx.env({ [ENV.kekCacheMaxEntries]: String(size + 1_000) }),
      ['--min-semi-space-size=16', '--max-semi-space-size=16'],
    );
    try {
      const client = new KeyholdClient(api.url, api.internalUrl);
      const tokens = await populationTokens(client, pop);
      const before = await api.settledMemory();
      await ctx.admin.resetCounters();
      const t0 = Date.now();
      await mapLimit(pop.workspaceIds, 32, async (ws, i) => {
        const res = await client.dek(tokens[i], ws, segmentId(0), 60_000);
        if (res.status !== 200) throw new Error(`warm-up DEK fetch of ${ws} answered ${res.status}`);
      });
      const warmSeconds = (Date.now() - t0) / 1000;
      const decrypts = await ctx.admin.count({ cloud: 'aws', operation: 'Decrypt' });
      const after = await api.settledMemory();
      const ceilingPath = await findCeiling(api.internalUrl);
      const load = { connections: m.connections, durationSeconds: m.scalingLoadSeconds, serverPid: api.child.pid };
      const target = {
        kind: 'dek' as const,
        token: tokens[0],
        tokens,
        workspaceIds: pop.workspaceIds,
        segmentsPerWorkspace: 1,
        prebuilt: Math.min(size, 20_000),
      };
      await runLoad(ctx.paths, `scale-${size}-warmup`, api.internalUrl, target, {
        connections: m.connections,
        durationSeconds: 2,
      });
      const ceil = ceilingPath
        ? await runLoad(
            ctx.paths,
            `scale-${size}-ceiling`,
            api.internalUrl,
            { kind: 'fixed', method: 'GET', path: ceilingPath },
            load,
          )
        : null;
      const dek = await runLoad(ctx.paths, `scale-${size}-dek`, api.internalUrl, target, load);
      assertMostlyOk(`DEK fetch over ${size} workspaces`, dek);
      points.push({
        workspaces: size,
        dek_rps: Math.round(dek.rps),
        ceiling_rps: ceil ? Math.round(ceil.rps) : 0,
        ratio: ceil ? ratio(dek.rps, ceil.rps) : null,
        p99_ms: dek.p99Ms,
        server_cpu_us_per_request: dek.serverCpuUsPerRequest ?? null,
        warmup_workspaces_per_s: Math.round(size / warmSeconds),
        kms_decrypts_per_workspace: round(decrypts / size, 3),
        heap_bytes_per_workspace: Math.round(
          (after.heapUsed + after.external - before.heapUsed - before.external) / size,
        ),
        rss_mb: round(after.rssBytes / 2 ** 20, 1),
      });
      ctx.log(`scaling ${size}: ${JSON.stringify(points.at(-1))}`);
    } finally {
      await api.stop();
    }
  }
  const unwraps = points.length ? Math.max(...points.map((p) => p.kms_decrypts_per_workspace)) : 1;
  return {
    scaling: { sizes: points, postgres: await postgresFootprint(ctx), redis: await redisFootprint(ctx, largest) },
    kms_calls_per_s_per_10k_workspaces: {
      per_api_replica: round((10_000 * unwraps) / DEFAULT_KEK_TTL_SECONDS, 1),
      kek_ttl_seconds: DEFAULT_KEK_TTL_SECONDS,
      measured_unwraps_per_workspace_per_ttl: unwraps,
      probes_per_s_per_1k_configurations: round(1000 / DEFAULT_PROBE_INTERVAL_SECONDS, 1),
      probe_interval_seconds: DEFAULT_PROBE_INTERVAL_SECONDS,
    },
  };
}

/** Rows and on-disk bytes (tables + indexes + TOAST) of the tables that grow with workspaces and DEKs. */
async function postgresFootprint(ctx: BenchContext): Promise<ScalingResult['scaling']['postgres']> {
  const db = new Client({ connectionString: ctx.env().DATABASE_URL });
  await db.connect();
  try {
    await db.query('VACUUM ANALYZE');
    const tables: Record<string, { rows: number; bytes: number }> = {};
    for (const t of [
      'workspaces',
      'kek_versions',
      'deks',
      'workspace_dek_counts',
      'service_principal_workspaces',
      'audit_events',
      'operations',
    ]) {
      const { rows } = await db.query<{ n: string; bytes: string }>(
        `SELECT count(*)::bigint AS n, pg_total_relation_size($1::regclass)::bigint AS bytes FROM ${t}`,
        [t],
      );
      tables[t] = { rows: Number(rows[0].n), bytes: Number(rows[0].bytes) };
    }
    const ws = tables.workspaces.rows;
    const perWorkspace = ['workspaces', 'kek_versions', 'workspace_dek_counts', 'service_principal_workspaces'].reduce(
      (s, t) => s + tables[t].bytes,
      0,
    );
    return {
      bytes_per_workspace: ws ? Math.round(perWorkspace / ws) : null,
      bytes_per_dek: tables.deks.rows ? Math.round(tables.deks.bytes / tables.deks.rows) : null,
      deks: tables.deks.rows,
      workspaces: ws,
      tables,
    };
  } finally {
    await db.end();
  }
}

/** What the run's Redis prefix holds (queues, rate-limit buckets, caches' pub/sub state) over the population. */
async function redisFootprint(ctx: BenchContext, workspaces: number): Promise<ScalingResult['scaling']['redis']> {
  const env = ctx.env();
  const redis = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    let bytes = 0;
    let keys = 0;
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${env.KEYHOLD_REDIS_PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      for (const k of batch) {
        bytes += Number((await redis.memory('USAGE', k)) ?? 0);
        keys++;
      }
    } while (cursor !== '0');
    return {
      bytes,
      keys,
      workspaces,
      bytes_per_10k_workspaces: Math.round((bytes / Math.max(1, workspaces)) * 10_000),
    };
  } finally {
    redis.disconnect();
  }
}
