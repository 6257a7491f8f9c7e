/**
 * Child-process entry of the load generator: runs autocannon against the server under test on its own core and
 * reports the result over IPC. Random access over (workspace, segment) is chosen per request in setupRequest, from
 * ids the parent passes in once (segment ids are deterministic, see segmentId()).
 */
import { performance } from 'node:perf_hooks';
import { batchPath, dekPath, segmentId } from '../lib/keyhold';
import type { LoadFailure, LoadResult, LoadSpec } from '../lib/load-spec';

// autocannon ships no type declarations; this is the subset used here.
interface AutocannonRequest {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonResult {
  /** Completed requests (total) and requests sent. */
  requests: { total: number; sent: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number };
  duration: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- autocannon ships no typings; the cast states the part used
const autocannon = require('autocannon') as (
  opts: object,
  cb: (err: Error | null, res: AutocannonResult) => void,
) => { stop(): void };

/**
 * Random (workspace, segment) requests prebuilt per DEK load; every connection builds and cycles through all of
 * them, so the list is kept short (a long one spends the measured window building request buffers).
 */
const STATIC_DEK_REQUESTS = 1_000;

/** Per-request (workspace index, send time) when the spec asks for the KEK-load minimum. */
const trace = { ws: [] as number[], at: [] as number[] };

/** Loads a perfect TTL cache needs for the traced access sequence (see LoadResult.minKekLoads). */
export function minimumLoads(ws: readonly number[], at: readonly number[], ttlMs: number): number {
  const loadedAt = new Map<number, number>();
  let loads = 0;
  for (let i = 0; i < ws.length; i++) {
    const last = loadedAt.get(ws[i]);
    if (last === undefined || at[i] - last >= ttlMs) {
      loadedAt.set(ws[i], at[i]);
      loads++;
    }
  }
  return loads;
}

function requestsFor(spec: LoadSpec): {
  method: string;
  requests: AutocannonRequest[];
  headers: Record<string, string>;
} {
  const t = spec.target;
  const headers: Record<string, string> = {};
  if ('token' in t && t.token) headers.authorization = `Bearer ${t.token}`;
  if (t.kind === 'dek' && t.headers) Object.assign(headers, t.headers);
  const pick = (n: number): number => Math.floor(Math.random() * n);
  switch (t.kind) {
    case 'fixed':
      return { method: t.method, headers, requests: [{ method: t.method, path: t.path }] };
    case 'dek':
      if (t.workspaceIds.length === 0) throw new Error('dek load needs at least one workspace');
      if (t.kekTtlSeconds === undefined) {
        // Prebuilt random requests instead of setupRequest: autocannon rebuilds a request buffer in JS for every
        // setupRequest call, which on this machine caps the load generator at ~12-14k req/s while the fixed
        // ceiling request is prebuilt (~18k). Both sides of the ratio must pay the same generator cost.
        const n = Math.min(t.prebuilt ?? STATIC_DEK_REQUESTS, t.workspaceIds.length * t.segmentsPerWorkspace);
        return {
          method: 'GET',
          headers,
          requests: Array.from({ length: n }, () => {
            const w = pick(t.workspaceIds.length);
            const path = dekPath(t.workspaceIds[w], segmentId(pick(t.segmentsPerWorkspace)));
            const token = t.tokens?.[w];
            return token
              ? { method: 'GET', path, headers: { ...headers, authorization: `Bearer ${token}` } }
              : { method: 'GET', path };
          }),
        };
      }
      return {
        method: 'GET',
        headers,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => {
              const w = pick(t.workspaceIds.length);
              if (t.kekTtlSeconds !== undefined) {
                trace.ws.push(w);
                trace.at.push(performance.now());
              }
              req.path = dekPath(t.workspaceIds[w], segmentId(pick(t.segmentsPerWorkspace)));
              return req;
            },
          },
        ],
      };
    case 'batch': {
      if (t.batchSize > t.segmentsPerWorkspace) throw new Error('batch size exceeds the segments of a workspace');
      headers['content-type'] = 'application/json';
      // Bodies precomputed per workspace: a random window of batchSize consecutive seeded segments.
      const bodyFor = (): string => {
        const start = pick(t.segmentsPerWorkspace - t.batchSize + 1);
        return JSON.stringify({ segmentIds: Array.from({ length: t.batchSize }, (_, i) => segmentId(start + i)) });
      };
      const bodies = Array.from({ length: 64 }, bodyFor);
      return {
        method: 'POST',
        headers,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              req.path = batchPath(t.workspaceIds[pick(t.workspaceIds.length)]);
              req.body = bodies[pick(bodies.length)];
              return req;
            },
          },
        ],
      };
    }
  }
}

function run(spec: LoadSpec): Promise<LoadResult> {
  const { method, requests, headers } = requestsFor(spec);
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: spec.baseUrl,
        method,
        headers,
        requests,
        connections: spec.connections,
        duration: spec.durationSeconds,
        // one request in flight per connection: latency percentiles then mean what a caller sees
        pipelining: 1,
        timeout: 10,
      },
      (err, res) => {
        if (err) return reject(err);
        const statusCodes = Object.fromEntries(Object.entries(res.statusCodeStats).map(([k, v]) => [k, v.count]));
        resolve({
          type: 'load-result',
          rps: res['2xx'] / res.duration,
          requests: res.requests.total,
          ok2xx: res['2xx'],
          non2xx: res.non2xx,
          errors: res.errors,
          timeouts: res.timeouts,
          statusCodes,
          p50Ms: res.latency.p50,
          p99Ms: res.latency.p99,
          durationSeconds: res.duration,
          ...(spec.target.kind === 'dek' && spec.target.kekTtlSeconds !== undefined
            ? { minKekLoads: minimumLoads(trace.ws, trace.at, spec.target.kekTtlSeconds * 1000) }
            : {}),
        });
      },
    );
  });
}

if (require.main === module)
  process.once('message', (raw: unknown) => {
    const spec = raw as LoadSpec;
    if (!spec || spec.type !== 'load') {
      process.send?.({ type: 'load-error', error: 'expected a load spec' } satisfies LoadFailure);
      return;
    }
    run(spec).then(
      (result) => process.send?.(result, () => process.exit(0)),
      (err: unknown) =>
        process.send?.(
          { type: 'load-error', error: String((err as Error)?.message ?? err) } satisfies LoadFailure,
          () => process.exit(1),
        ),
    );
  });
if (require.main === module) process.on('disconnect', () => process.exit(0));
