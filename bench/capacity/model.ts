/**
 * The capacity model: from figures the benchmark measured (bench/results/latest.json) to the fleet a deployment needs.
 * Pure functions, so the numbers in docs/CAPACITY.md are recomputed, never typed in, whenever the measurements change.
 */

/** What one measured run says about one replica, one worker and the stores. */
export interface Measured {
  /** Warm DEK fetches per second of one API replica (full benchmark, 50 connections). */
  dekRpsPerReplica: number;
  dekP99Ms: number;
  /**
   * Warm DEK fetches per second of one replica serving a population of each size (the scaling curve): random access
   * over more workspaces costs more per request (state re-reads, CPU caches), so the fleet is sized at its own size.
   */
  dekRpsBySize?: ReadonlyArray<{ workspaces: number; rps: number }>;
  /** Heap of one cached workspace in an API replica (KEK, state/scope entry, DEK rows). */
  bytesPerCachedWorkspace: number;
  /** Cold fills per second of one replica (KMS unwrap included), from the scaling curve's largest size. */
  coldFillsPerSecond: number;
  /** KMS unwraps one replica makes per active workspace per KEK-cache TTL (1 = single flight is perfect). */
  unwrapsPerWorkspacePerTtl: number;
  /** Postgres bytes (tables + indexes) per workspace and per DEK, and per audit event. */
  pgBytesPerWorkspace: number;
  pgBytesPerDek: number;
  pgBytesPerAuditEvent: number;
  /** Redis bytes per 10,000 workspaces (queues, buckets; no key material). */
  redisBytesPer10kWorkspaces: number;
  /** DEKs rewrapped per second by one worker during a KEK rotation. */
  rotationDeksPerSecond: number;
  /** KMS calls of one access probe (a describe of the key). */
  callsPerProbe: number;
}

/** What a vendor's customers look like; every field is an assumption the reader can change. */
export interface Profile {
  tenants: number;
  workspacesPerTenant: number;
  configurationsPerTenant: number;
  deksPerWorkspace: number;
  /** Peak warm DEK fetches per second per tenant, summed over its services. */
  peakDekRpsPerTenant: number;
  /** Audit events per workspace kept online (retention). */
  auditEventsPerWorkspace: number;
}

export interface Settings {
  kekTtlSeconds: number;
  probeIntervalSeconds: number;
  kekMaxAgeDays: number;
  /** Fraction of a replica's measured throughput to plan for (the rest absorbs spikes, GC and a lost replica). */
  headroom: number;
  /** Heap a replica may give its KEK cache before the node needs more memory than a typical 2 GiB pod limit. */
  cacheBudgetBytes: number;
  minReplicas: number;
}

export const DEFAULT_SETTINGS: Settings = {
  kekTtlSeconds: 300,
  probeIntervalSeconds: 60,
  kekMaxAgeDays: 90,
  headroom: 0.5,
  cacheBudgetBytes: 1024 * 2 ** 20,
  minReplicas: 2,
};

export const DEFAULT_PROFILE: Omit<Profile, 'tenants'> = {
  workspacesPerTenant: 10,
  configurationsPerTenant: 1.2,
  deksPerWorkspace: 10_000,
  peakDekRpsPerTenant: 5,
  auditEventsPerWorkspace: 2_000,
};

export interface Fleet {
  tenants: number;
  workspaces: number;
  apiReplicas: number;
  cacheMbPerReplica: number;
  kmsCallsPerSecond: { cacheRefills: number; probes: number; total: number };
  coldFillShareOfReplica: number;
  postgresGb: number;
  redisMb: number;
  workers: number;
  /** The first limit the fleet meets as it grows, in words. */
  breaksFirst: string;
}

/**
 * Every API replica caches every workspace it serves (no affinity): cache memory and KMS refills grow with
 * replicas × workspaces. Throughput sets the replica count; memory and cold-fill rate say where one replica stops.
 */
export function fleet(m: Measured, p: Profile, s: Settings = DEFAULT_SETTINGS): Fleet {
  const workspaces = p.tenants * p.workspacesPerTenant;
  const configurations = p.tenants * p.configurationsPerTenant;
  const peakRps = p.tenants * p.peakDekRpsPerTenant;
  const apiReplicas = Math.max(s.minReplicas, Math.ceil(peakRps / (rpsAt(m, workspaces) * s.headroom)));
  const cacheBytes = workspaces * m.bytesPerCachedWorkspace;
  const refillsPerReplica = (workspaces * m.unwrapsPerWorkspacePerTtl) / s.kekTtlSeconds;
  const cacheRefills = apiReplicas * refillsPerReplica;
  const probes = (configurations / s.probeIntervalSeconds) * m.callsPerProbe;
  const deks = workspaces * p.deksPerWorkspace;
  const pgBytes =
    workspaces * m.pgBytesPerWorkspace +
    deks * m.pgBytesPerDek +
    workspaces * p.auditEventsPerWorkspace * m.pgBytesPerAuditEvent;
  // Every KEK rotates at least every kekMaxAgeDays: its DEKs are rewrapped once per period.
  const rotationDeksPerSecond = deks / (s.kekMaxAgeDays * 86_400);
  const workers = Math.max(2, Math.ceil(rotationDeksPerSecond / (m.rotationDeksPerSecond * s.headroom)));
  const coldShare = refillsPerReplica / m.coldFillsPerSecond;
  const limits: Array<{ load: number; what: string; remedy: string }> = [
    {
      load: cacheBytes / s.cacheBudgetBytes,
      what: `KEK cache per replica (${mb(cacheBytes)} of ${mb(s.cacheBudgetBytes)} MB)`,
      remedy: 'route workspaces to replica groups (affinity on the workspace id) so each replica caches a share',
    },
    {
      load: coldShare,
      what: 'cache refills per replica against its measured cold-fill rate',
      remedy: 'lengthen KEYHOLD_KEK_CACHE_TTL_SECONDS or route workspaces to replica groups',
    },
    {
      load: pgBytes / (2 * 2 ** 40),
      what: `Postgres size (${gb(pgBytes)} GB of 2 TiB)`,
      remedy: 'partition deks and audit_events by tenant',
    },
  ];
  const worst = limits.reduce((a, b) => (b.load > a.load ? b : a));
  const pct = `${Math.round(worst.load * 100)}%`;
  return {
    tenants: p.tenants,
    workspaces,
    apiReplicas,
    cacheMbPerReplica: mb(cacheBytes),
    kmsCallsPerSecond: {
      cacheRefills: round1(cacheRefills),
      probes: round1(probes),
      total: round1(cacheRefills + probes),
    },
    coldFillShareOfReplica: Math.round(coldShare * 1000) / 1000,
    postgresGb: gb(pgBytes),
    redisMb: Math.max(1, Math.round(((workspaces / 10_000) * m.redisBytesPer10kWorkspaces) / 2 ** 20)),
    workers,
    breaksFirst:
      worst.load >= 1 ? `${worst.what} at ${pct}: ${worst.remedy}` : `nothing yet (nearest: ${worst.what} at ${pct})`,
  };
}

/** Per-replica rate at a population: the measured size at or above it (beyond the largest: the largest's). */
export function rpsAt(m: Measured, workspaces: number): number {
  const curve = [...(m.dekRpsBySize ?? [])].sort((a, b) => a.workspaces - b.workspaces);
  if (!curve.length) return m.dekRpsPerReplica;
  return (curve.find((p) => p.workspaces >= workspaces) ?? curve[curve.length - 1]).rps;
}

const mb = (b: number) => Math.round(b / 2 ** 20);
const gb = (b: number) => Math.round((b / 2 ** 30) * 10) / 10;
const round1 = (x: number) => Math.round(x * 10) / 10;

type Json = Record<string, unknown>;
const at = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Json)[k] : undefined), o);
const need = (o: unknown, what: string, ...path: string[]): number => {
  const v = at(o, ...path);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`bench results lack ${what} (${path.join('.')})`);
  return v;
};

/** The measured figures, read from a full benchmark run's JSON. */
export function measuredFrom(results: unknown): Measured {
  const sizes = (at(results, 'scaling', 'sizes') ?? []) as Array<{
    workspaces: number;
    warmup_workspaces_per_s: number;
    dek_rps: number;
  }>;
  if (!sizes.length) throw new Error('bench results lack the scaling curve (scaling.sizes)');
  const largest = sizes.reduce((a, b) => (b.workspaces > a.workspaces ? b : a));
  const tables = at(results, 'scaling', 'postgres', 'tables') as
    Record<string, { rows: number; bytes: number }> | undefined;
  const audit = tables?.audit_events;
  const rewrapByOp = (at(results, 'rewrap', 'kms_calls_by_operation') ?? {}) as Record<string, number>;
  const describes = rewrapByOp.DescribeKey ?? 0;
  return {
    dekRpsPerReplica: need(results, 'DEK fetch req/s', 'dek_fetch', 'rps'),
    dekP99Ms: need(results, 'DEK fetch p99', 'dek_fetch', 'p99_ms'),
    dekRpsBySize: sizes.map((p) => ({ workspaces: p.workspaces, rps: p.dek_rps })),
    bytesPerCachedWorkspace: need(results, 'bytes per cached workspace', 'memory', 'kek_cache_bytes_per_workspace'),
    coldFillsPerSecond: largest.warmup_workspaces_per_s,
    unwrapsPerWorkspacePerTtl: need(
      results,
      'unwraps per workspace per TTL',
      'kms_calls_per_s_per_10k_workspaces',
      'measured_unwraps_per_workspace_per_ttl',
    ),
    pgBytesPerWorkspace: need(results, 'Postgres bytes per workspace', 'scaling', 'postgres', 'bytes_per_workspace'),
    pgBytesPerDek: need(results, 'Postgres bytes per DEK', 'scaling', 'postgres', 'bytes_per_dek'),
    pgBytesPerAuditEvent: audit && audit.rows ? Math.round(audit.bytes / audit.rows) : 0,
    redisBytesPer10kWorkspaces: need(
      results,
      'Redis bytes per 10k workspaces',
      'scaling',
      'redis',
      'bytes_per_10k_workspaces',
    ),
    rotationDeksPerSecond: need(results, 'KEK rotation DEKs/s', 'kek_rotation', 'deks_per_s'),
    // A describe is DescribeKey + ListKeyRotations on AWS: the rewrap run counts both per describe.
    callsPerProbe: describes ? Math.round(((describes + (rewrapByOp.ListKeyRotations ?? 0)) / describes) * 10) / 10 : 2,
  };
}
