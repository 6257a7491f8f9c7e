/** What the load-generator child is asked to do, and what it answers (plain JSON over IPC). */
export type LoadTarget =
  | { kind: 'fixed'; method: 'GET'; path: string; token?: string }
  | {
      kind: 'dek';
      token: string;
      workspaceIds: string[];
      segmentsPerWorkspace: number;
      /** When set, the child records which workspace each request hit and when, and answers `minKekLoads`. */
      kekTtlSeconds?: number;
      /**
       * Per-workspace tokens, aligned with `workspaceIds` (a service principal's scope holds at most 1,000 workspaces,
       * so a larger population needs several); `token` is used where this is absent.
       */
      tokens?: string[];
      /** Distinct prebuilt requests (default 1,000): a large population needs more for the load to reach all of it. */
      prebuilt?: number;
      /** Extra request headers (e.g. a Keyhold-Access-Reason), the same on every request. */
      headers?: Record<string, string>;
    }
  | { kind: 'batch'; token: string; workspaceIds: string[]; segmentsPerWorkspace: number; batchSize: number };

export interface LoadSpec {
  type: 'load';
  baseUrl: string;
  connections: number;
  durationSeconds: number;
  target: LoadTarget;
}

export interface LoadResult {
  type: 'load-result';
  /** Successful (2xx) requests per second over the run. */
  rps: number;
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  durationSeconds: number;
  /**
   * KEK loads a perfect cache with this TTL needs for the requests actually sent: per workspace, one load at its
   * first request and one at each first request at least TTL after the previous load (single flight, no refresh).
   */
  minKekLoads?: number;
  /** CPU the generator used over the run, in cores (1 = one core busy the whole time). Set by the parent. */
  generatorCpuShare?: number;
  /** CPU the server process used over the run, in cores, and per completed request (µs). Set by the parent. */
  serverCpuShare?: number;
  serverCpuUsPerRequest?: number;
  /** Which load generator produced this result. */
  generator?: 'wrk' | 'autocannon';
}

export interface LoadFailure {
  type: 'load-error';
  error: string;
}
