import { performance } from 'node:perf_hooks';
import { ENV } from '../lib/env';
import { KeyholdClient, segmentId } from '../lib/keyhold';
import { freePort, sleep } from '../../stack';
import { round } from '../lib/stats';
import { ApiReplica, BENCH_KEY_ACTIONS, startWorkerChild } from '../lib/stack';
import type { BenchContext, World } from './context';

/** The product defaults (libs/config): probe every 60 s, confirm over 180 s with 3 consecutive definitive failures. */
export const DEFAULT_PROBE = { intervalSeconds: 60, windowSeconds: 180, confirmations: 3 };

export interface RevocationResult {
  revocation: {
    seconds_to_410: number | null;
    seconds_all_replicas: number | null;
    replicas: number;
    probe: { intervalSeconds: number; windowSeconds: number; confirmations: number; defaults: boolean };
    /** The target: window + one probe interval. */
    bound_seconds: number;
  };
}

/**
 * Revocation latency: the customer disables the CMK; how long until the first replica answers 410, and until no
 * replica (two API processes, both with the KEK cached) serves the workspace any more. Uses its own CMK and key
 * configuration so the rest of the population is untouched.
 */
export async function revocation(ctx: BenchContext, world: World): Promise<RevocationResult> {
  const m = ctx.mode;
  const probe = m.revocationProbe ?? DEFAULT_PROBE;
  const probeEnv = {
    [ENV.probeIntervalSeconds]: String(probe.intervalSeconds),
    [ENV.probeWindowSeconds]: String(probe.windowSeconds),
    [ENV.probeConfirmations]: String(probe.confirmations),
  };
  const token = await ctx.adminToken();
  const keyArn = await ctx.customer.createKey(world.roleArn, world.roleName, {
    description: 'keyhold benchmark revocable CMK',
    extraActions: BENCH_KEY_ACTIONS,
  });
  const kc = await ctx.client.registerAwsKeyConfiguration(
    token,
    world.tenantId,
    'bench-aws-revocable',
    keyArn,
    world.roleArn,
  );
  const ws = await ctx.client.createWorkspace(token, world.tenantId, 'bench-revocation');
  await ctx.client.bindWorkspace(token, world.tenantId, ws, kc);
  const sp = await ctx.client.createServicePrincipal(token, world.tenantId, 'bench-revocation', [ws]);

  const replicas: ApiReplica[] = [];
  const worker = await startWorkerChild(
    ctx.paths,
    'worker-revocation',
    ctx.env({ ...probeEnv, [ENV.workerMetricsPort]: String(await freePort()) }),
  );
  try {
    for (const name of ['api-r1', 'api-r2']) replicas.push(await ApiReplica.start(ctx.paths, name, ctx.env(probeEnv)));
    const clients = replicas.map((r) => new KeyholdClient(r.url, r.internalUrl));
    const tokens = await Promise.all(clients.map((c) => c.serviceToken(sp.clientId, sp.clientSecret)));
    for (let i = 0; i < clients.length; i++) {
      const res = await clients[i].dek(tokens[i], ws, segmentId(0));
      if (res.status !== 200)
        throw new Error(`replica ${i + 1} could not fetch the DEK before revocation (${res.status})`);
    }

    await ctx.customer.disableKey(keyArn);
    const t0 = performance.now();
    const firstGone: Array<number | null> = clients.map(() => null);
    const until = t0 + m.revocationTimeoutSeconds * 1000;
    while (performance.now() < until && firstGone.some((t) => t === null)) {
      await Promise.all(
        clients.map(async (c, i) => {
          if (firstGone[i] !== null) return;
          const res = await c.dek(tokens[i], ws, segmentId(0), 5_000).catch(() => null);
          if (res?.status === 410) firstGone[i] = (performance.now() - t0) / 1000;
        }),
      );
      await sleep(100);
    }
    const seen = firstGone.filter((t): t is number => t !== null);
    return {
      revocation: {
        seconds_to_410: seen.length ? round(Math.min(...seen), 2) : null,
        seconds_all_replicas: seen.length === clients.length ? round(Math.max(...seen), 2) : null,
        replicas: clients.length,
        probe: { ...probe, defaults: m.revocationProbe === null },
        bound_seconds: probe.windowSeconds + probe.intervalSeconds,
      },
    };
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await worker.stop();
  }
}
