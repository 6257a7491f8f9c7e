import { Client } from 'pg';
import { seedWorkspaces } from '../../apps/api/src/dev/seed-workspaces';
import { assertMostlyOk, runLoad } from '../lib/load';
import { ApiReplica } from '../lib/stack';
import { median, ratio, round } from '../lib/stats';
import type { BenchContext, World } from './context';

/**
 * The workspace list queries the console makes: first page, by name, newest first, a name search, state + configuration
 * filters, degraded. Pages of 10, so the small tenant's unfiltered pages are full too and both sizes answer as many rows.
 */
type QueryName = 'first_page' | 'by_name' | 'newest' | 'search' | 'filtered' | 'degraded';
const QUERIES: Record<QueryName, (keyConfigurationId: string) => string> = {
  first_page: () => 'limit=10',
  by_name: () => 'sort=name&limit=10',
  newest: () => 'sort=createdAt&order=desc&limit=10',
  search: () => 'q=billing&sort=name&limit=10',
  filtered: (kc) => `keyState=active&keyConfigurationId=${kc}&limit=10`,
  degraded: () => 'degraded=true&limit=10',
};

export interface ListsPoint {
  workspaces: number;
  p99_ms: Record<QueryName, number>;
  p50_ms: Record<QueryName, number>;
  rps: Record<QueryName, number>;
}

export interface ListsResult {
  lists: {
    small: ListsPoint;
    large: ListsPoint;
    /** Worst p99 of the large tenant over the small one across the queries (1 = the tenant's size costs nothing). */
    p99_ratio: number | null;
    p99_ratio_by_query: Record<QueryName, number | null>;
    /** The same at the median, less exposed to a busy machine's scheduling stalls. */
    p50_ratio: number | null;
    seed_seconds: number;
  };
}

/**
 * `GET …/workspaces` at 10 and at 100,000 workspaces in two tenants of the same database, each with its own customer key and
 * configuration. The workspaces are seeded by SQL (the API would take hours to create 100,000); each list query is
 * loaded on a fresh replica in interleaved rounds (median p99 of the rounds), and the report is the p99 of the large
 * tenant over that of the small one, per query.
 */
export async function lists(ctx: BenchContext, _world: World): Promise<ListsResult> {
  // 100,000 in both modes: one INSERT … SELECT seeds them in about 20 s on a 2-core machine.
  const large = 100_000;
  const sizes = [10, large];
  const env = ctx.env();
  const db = new Client({ connectionString: String(env.DATABASE_URL) });
  await db.connect();
  const tenants: Array<{ tenantId: string; token: string; kc: string; n: number }> = [];
  const seedStart = Date.now();
  try {
    for (const n of sizes) {
      const o = await ctx.onboard(`bench-lists-${n}-${Date.now()}`);
      const roleName = `keyhold-bench-lists-${n}`;
      const roleArn = await ctx.customer.createRole(roleName, o.trustedPrincipalArn, o.externalId);
      const keyArn = await ctx.customer.createKey(roleArn, roleName, { description: 'keyhold benchmark lists' });
      const kc = await ctx.client.registerAwsKeyConfiguration(o.token, o.tenantId, `bench-lists-${n}`, keyArn, roleArn);
      await seedWorkspaces(db, o.tenantId, n, { prefix: 'bench', keyConfigurationId: kc });
      tenants.push({ tenantId: o.tenantId, token: o.token, kc, n });
    }
  } finally {
    await db.end();
  }
  const seedSeconds = round((Date.now() - seedStart) / 1000, 1);
  ctx.log(`lists: seeded ${sizes.join(' and ')} workspaces in ${seedSeconds}s`);

  const api = await ApiReplica.start(ctx.paths, 'api-lists', env);
  const points: ListsPoint[] = tenants.map((t) => ({
    workspaces: t.n,
    p99_ms: {} as Record<QueryName, number>,
    p50_ms: {} as Record<QueryName, number>,
    rps: {} as Record<QueryName, number>,
  }));
  try {
    // Interleaved rounds (small, large, small, large…) per query, median of the rounds: drift of a shared machine
    // over the run then falls on both sizes alike instead of on whichever was measured later.
    const rounds = ctx.mode.name === 'quick' ? 3 : 5;
    const load = { connections: 8, durationSeconds: ctx.mode.name === 'quick' ? 2 : 5, serverPid: api.child.pid };
    for (const name of Object.keys(QUERIES) as QueryName[]) {
      const samples = tenants.map(() => ({ p99: [] as number[], p50: [] as number[], rps: [] as number[] }));
      for (const t of tenants) {
        const path = `/v1/tenants/${t.tenantId}/workspaces?${QUERIES[name](t.kc)}`;
        await runLoad(
          ctx.paths,
          `lists-warm-${t.n}-${name}`,
          api.url,
          { kind: 'fixed', method: 'GET', path, token: t.token },
          { connections: 4, durationSeconds: 1 },
        );
      }
      for (let r = 0; r < rounds; r++)
        for (const [i, t] of tenants.entries()) {
          const path = `/v1/tenants/${t.tenantId}/workspaces?${QUERIES[name](t.kc)}`;
          const res = await runLoad(
            ctx.paths,
            `lists-${t.n}-${name}-${r}`,
            api.url,
            { kind: 'fixed', method: 'GET', path, token: t.token },
            load,
          );
          assertMostlyOk(`lists ${t.n} ${name}`, res);
          samples[i].p99.push(res.p99Ms);
          samples[i].p50.push(res.p50Ms);
          samples[i].rps.push(res.rps);
        }
      for (const [i, p] of points.entries()) {
        p.p99_ms[name] = round(median(samples[i].p99), 2);
        p.p50_ms[name] = round(median(samples[i].p50), 2);
        p.rps[name] = Math.round(median(samples[i].rps));
      }
      ctx.log(`lists: ${name}: p99 ${points.map((p) => `${p.workspaces} ws ${p.p99_ms[name]} ms`).join(', ')}`);
    }
  } finally {
    await api.stop();
  }
  const [small, big] = points;
  const byQuery = Object.fromEntries(
    (Object.keys(QUERIES) as QueryName[]).map((q) => [q, ratio(big.p99_ms[q], small.p99_ms[q])]),
  ) as Record<QueryName, number | null>;
  const worst = Object.values(byQuery).filter((v): v is number => v !== null);
  const p50 = (Object.keys(QUERIES) as QueryName[])
    .map((q) => ratio(big.p50_ms[q], small.p50_ms[q]))
    .filter((v): v is number => v !== null);
  return {
    lists: {
      small,
      large: big,
      p99_ratio: worst.length ? Math.max(...worst) : null,
      p99_ratio_by_query: byQuery,
      p50_ratio: p50.length ? Math.max(...p50) : null,
      seed_seconds: seedSeconds,
    },
  };
}
