import type { JobsHarness, OperationView } from './harness';

export interface UnderLoadResult {
  /** The operation as it finished. */
  op: OperationView;
  /** Every error a reader saw and every DEK that came back different from `before`. Expected: none. */
  failures: unknown[];
  /** Rounds the readers completed in all (proof they really ran during the operation). */
  rounds: number;
  /** `done/total` values observed while the operation ran. */
  progress: string[];
  /** True if some observed progress was strictly between 0 and the total. */
  sawMidwayProgress: boolean;
}

/**
 * Waits for an operation while cold replicas keep fetching DEKs of the workspace: each reader is a fresh DEK service
 * (own KEK cache, no wrapped-DEK cache), the worst case for a rotation or re-key. Every round asks for a window of
 * existing segments (which must come back unchanged) plus one new segment (created under whatever KEK is current).
 */
export async function whileReading(
  h: JobsHarness,
  t: { tenantId: string; principalId: string },
  workspaceId: string,
  operationId: string,
  before: Map<string, string>,
  opts: { readers?: number; perRound?: number; timeoutMs?: number; minRounds?: number } = {},
): Promise<UnderLoadResult> {
  const all = [...before.keys()];
  const perRound = Math.min(opts.perRound ?? 100, all.length);
  let finished = false;
  const failures: unknown[] = [];
  const progress = new Set<string>();
  const note = (o: OperationView) => {
    if (o.state === 'running' && o.progressTotal > 0) progress.add(`${o.progressDone}/${o.progressTotal}`);
  };
  const readers = Array.from({ length: opts.readers ?? 2 }, async (_, r) => {
    const { service } = h.dekService();
    let round = 0;
    while (!finished || round < (opts.minRounds ?? 1)) {
      const pick = Array.from({ length: perRound }, (_, i) => all[(round * 997 + i * 31 + r * 13) % all.length]);
      try {
        const got = await service.getDeks({ tid: t.tenantId, sub: t.principalId }, workspaceId, [
          ...new Set(pick),
          `new-${r}-${round}`,
        ]);
        for (const d of got)
          if (before.has(d.segmentId) && before.get(d.segmentId) !== d.dek) failures.push(`changed ${d.segmentId}`);
      } catch (err) {
        failures.push(err);
      }
      round++;
    }
    return round;
  });
  const watcher = (async () => {
    while (!finished) {
      note(await h.waitForOperation(t.tenantId, operationId, 1_000, () => true));
      await new Promise((res) => setTimeout(res, 2));
    }
  })();
  let op: OperationView;
  try {
    op = await h.waitForOperation(t.tenantId, operationId, opts.timeoutMs ?? 45_000, (o) => {
      note(o);
      return o.state === 'succeeded' || o.state === 'failed';
    });
  } finally {
    finished = true;
  }
  const rounds = (await Promise.all(readers)).reduce((a, b) => a + b, 0);
  await watcher;
  const seen = [...progress];
  return {
    op,
    failures,
    rounds,
    progress: seen,
    sawMidwayProgress: seen.some((p) => {
      const [d, tot] = p.split('/').map(Number);
      return d > 0 && d < tot;
    }),
  };
}
