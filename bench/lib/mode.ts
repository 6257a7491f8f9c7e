/**
 * Sizes and durations of one benchmark run. `--quick` keeps every measurement but shrinks sizes and durations so the
 * whole run stays under three minutes on a 2-core machine; the JSON records which mode produced it.
 */
export type ModeName = 'full' | 'quick';

export interface BenchMode {
  name: ModeName;
  /** Workspaces that carry segments for the DEK fetch measurement (random access over all of their segments). */
  fetchWorkspaces: number;
  segmentsPerWorkspace: number;
  /** Workspaces bound to one configuration for the CMK rewrap and memory measurements (a superset of the above). */
  scaleWorkspaces: number;
  /** Fixed duration of each autocannon run (ceiling, DEK fetch, batch). */
  loadSeconds: number;
  connections: number;
  batchSize: number;
  singleFlightConcurrent: number;
  /** 100 cold workspaces × 10 concurrent first fetches each. */
  multiColdWorkspaces: number;
  multiColdPerWorkspace: number;
  /** Mixed run for the KMS call economy and the short KEK TTL it runs with. */
  economySeconds: number;
  economyTtlSeconds: number;
  coldSamples: number;
  injectedLatencyMs: number;
  /** Provider rate limit configured on the worker for the rewrap measurement (calls/s). */
  rewrapRate: number;
  kekRotationDeks: number;
  /** Probe settings for the revocation measurement; null = the product defaults. */
  revocationProbe: { intervalSeconds: number; windowSeconds: number; confirmations: number } | null;
  /** Upper bound on how long the revocation measurement may wait for both replicas. */
  revocationTimeoutSeconds: number;
  /** Populations of the scaling curve (workspaces served by one replica); sizes above scaleWorkspaces add tenants. */
  scalingSizes: number[];
  scalingLoadSeconds: number;
}

export const FULL: BenchMode = {
  name: 'full',
  fetchWorkspaces: 1_000,
  segmentsPerWorkspace: 100,
  scaleWorkspaces: 10_000,
  loadSeconds: 20,
  connections: 50,
  batchSize: 100,
  singleFlightConcurrent: 1_000,
  multiColdWorkspaces: 100,
  multiColdPerWorkspace: 10,
  economySeconds: 60,
  economyTtlSeconds: 10,
  coldSamples: 30,
  injectedLatencyMs: 20,
  rewrapRate: 200,
  kekRotationDeks: 1_000_000,
  revocationProbe: null,
  revocationTimeoutSeconds: 420,
  scalingSizes: [1_000, 10_000, 100_000],
  scalingLoadSeconds: 10,
};

export const QUICK: BenchMode = {
  ...FULL,
  name: 'quick',
  // Binding is ~35 workspaces/s per tenant (audit appends serialise per tenant), so quick mode seeds fewer.
  fetchWorkspaces: 300,
  scaleWorkspaces: 600,
  rewrapRate: 50,
  loadSeconds: 8,
  economySeconds: 15,
  economyTtlSeconds: 5,
  coldSamples: 15,
  kekRotationDeks: 100_000,
  // Quick mode cannot wait out the 180 s default confirmation window; the JSON says which settings were used.
  revocationProbe: { intervalSeconds: 2, windowSeconds: 6, confirmations: 3 },
  revocationTimeoutSeconds: 60,
  scalingSizes: [100, 600, 2_000],
  scalingLoadSeconds: 5,
};

export function parseArgs(argv: string[]): { mode: BenchMode; only: Set<string> | null; profile: boolean } {
  let mode = FULL;
  let only: Set<string> | null = null;
  let profile = true;
  for (const arg of argv) {
    if (arg === '--quick') mode = QUICK;
    else if (arg === '--full') mode = FULL;
    else if (arg === '--no-profile') profile = false;
    else if (arg.startsWith('--only=')) only = new Set(arg.slice('--only='.length).split(',').filter(Boolean));
    else throw new Error(`unknown argument "${arg}" (expected --quick, --full, --no-profile, --only=<section,...>)`);
  }
  return { mode, only, profile };
}
