import { AuditBuffer, DekIssuanceAggregator } from '../../libs/audit/src';
import { admitReason, reasonMask, reasonSlot, REASON_SLOT_NAMES } from '../../libs/keys/src/access-reasons';
import { mapLimit, requestJson } from '../lib/http';
import { KeyholdClient, segmentId } from '../lib/keyhold';
import { assertMostlyOk, runLoad } from '../lib/load';
import type { LoadResult } from '../lib/load-spec';
import { median, ratio, round } from '../lib/stats';
import { ApiReplica } from '../lib/stack';
import type { BenchContext, World } from './context';

export interface AccessReasonsResult {
  dek_reason: {
    /** Warm DEK fetches per second with `Keyhold-Access-Reason` (and a ticket) and without, same replica, interleaved. */
    with_reason_rps: number;
    without_reason_rps: number;
    /**
     * with / without: the cost of reason handling on the warm path (goal ≥ 0.97). The median of the per-round ratios
     * (each round runs both sides back to back, so a change of the machine's load hits one pair, not the median).
     */
    with_reason_ratio: number | null;
    round_ratios: number[];
    /** Server CPU per request on each side (µs) and without / with. */
    with_reason_cpu_us_per_request: number | null;
    without_reason_cpu_us_per_request: number | null;
    cpu_ratio: number | null;
    rounds: number;
    /**
     * In-process: what the warm path adds per request (header → slot, policy mask check, per-reason tally add),
     * in ns, measured over a million iterations (goal ≤ 1,000 ns).
     */
    reason_handling_ns_per_request: number;
  };
}

/**
 * DEK fetch with a reason header vs without, in the same replica and the same run, interleaved round by round
 * (the machine is noisy; only same-run ratios mean anything), plus a micro-benchmark of the reason handling itself.
 */
export async function accessReasons(ctx: BenchContext, world: World): Promise<AccessReasonsResult> {
  const m = ctx.mode;
  const api = await ApiReplica.start(ctx.paths, 'api-reason', ctx.env());
  try {
    const fetcher = world.principals[0];
    const token = await new KeyholdClient(api.url, api.internalUrl).serviceToken(
      fetcher.clientId,
      fetcher.clientSecret,
    );
    await mapLimit(world.fetchWorkspaces, 8, async (ws) => {
      const res = await requestJson(`warm ${ws}`, `${api.internalUrl}/internal/v1/workspaces/${ws}/deks:batchGet`, {
        method: 'POST',
        token,
        body: { segmentIds: Array.from({ length: m.segmentsPerWorkspace }, (_, i) => segmentId(i)) },
      });
      if (res.status !== 200) throw new Error(`warm-up batch for ${ws} answered ${res.status}`);
    });
    const base = {
      kind: 'dek' as const,
      token,
      workspaceIds: world.fetchWorkspaces,
      segmentsPerWorkspace: m.segmentsPerWorkspace,
    };
    const withReason = { ...base, headers: { 'keyhold-access-reason': 'CUSTOMER_INITIATED' } };
    const load = { connections: m.connections, durationSeconds: m.loadSeconds, serverPid: api.child.pid };
    await runLoad(ctx.paths, 'reason-warmup', api.internalUrl, withReason, {
      connections: m.connections,
      durationSeconds: 3,
    });
    await runLoad(ctx.paths, 'no-reason-warmup', api.internalUrl, base, {
      connections: m.connections,
      durationSeconds: 2,
    });

    const rounds = m.name === 'full' ? 5 : 3;
    const without: LoadResult[] = [];
    const withR: LoadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      // alternate which side goes first, so a drift of the machine's load does not favour one side
      const order = r % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const);
      for (const side of order) {
        const res = await runLoad(
          ctx.paths,
          `${side}-reason-${r}`,
          api.internalUrl,
          side === 'with' ? withReason : base,
          load,
        );
        assertMostlyOk(`DEK fetch ${side} reason`, res);
        (side === 'with' ? withR : without).push(res);
      }
      ctx.log(
        `access-reasons round ${r + 1}/${rounds}: without ${Math.round(without[r].rps)} rps (${without[r].serverCpuUsPerRequest} µs/req); with ${Math.round(withR[r].rps)} rps (${withR[r].serverCpuUsPerRequest} µs/req)`,
      );
    }
    const w = median(withR.map((x) => x.rps));
    const wo = median(without.map((x) => x.rps));
    const cpu = (xs: LoadResult[]) => {
      const v = xs.map((x) => x.serverCpuUsPerRequest).filter((x): x is number => typeof x === 'number');
      return v.length ? median(v) : null;
    };
    const cw = cpu(withR);
    const cwo = cpu(without);
    return {
      dek_reason: {
        with_reason_rps: Math.round(w),
        without_reason_rps: Math.round(wo),
        with_reason_ratio: ratio(median(withR.map((x, i) => x.rps / without[i].rps)), 1),
        round_ratios: withR.map((x, i) => round(x.rps / without[i].rps, 3)),
        with_reason_cpu_us_per_request: cw,
        without_reason_cpu_us_per_request: cwo,
        cpu_ratio: cw && cwo ? ratio(cwo, cw) : null,
        rounds,
        reason_handling_ns_per_request: reasonHandlingNs(),
      },
    };
  } finally {
    await api.stop();
  }
}

/** The warm path's reason work, exactly as the route and DekService do it, timed in this process. */
function reasonHandlingNs(): number {
  const buffer = new AuditBuffer({ appendMany: async (_t, records) => records.map((_, i) => i) }, 3_600_000);
  const agg = new DekIssuanceAggregator(buffer, 3_600_000, REASON_SLOT_NAMES);
  const tally = agg.tally('t', 'p', 'w');
  const mask = reasonMask({
    principalReasons: ['CUSTOMER_INITIATED', 'BACKUP'],
    deniedReasons: ['EMERGENCY'],
    reasonRequired: false,
  });
  const headers: Record<string, string> = { 'keyhold-access-reason': 'CUSTOMER_INITIATED' };
  const once = (n: number) => {
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const slot = reasonSlot(headers['keyhold-access-reason']);
      admitReason(mask, slot, tally, now, undefined);
      tally.add(1, now, slot, undefined);
    }
  };
  once(200_000); // JIT warm-up
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    const n = 1_000_000;
    const t0 = process.hrtime.bigint();
    once(n);
    samples.push(Number(process.hrtime.bigint() - t0) / n);
  }
  agg.close();
  return round(median(samples), 1);
}
