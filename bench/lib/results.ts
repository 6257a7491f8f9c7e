import type { SectionOutcome, Target } from './report';
import { target } from './report';

/**
 * The shape of bench/results/latest.json. Every field the issue names is always present: measured, or null with
 * the reason under `not_measured` — a missing number is never silently absent.
 */
const SKELETON = {
  dek_fetch: { rps: null, ceiling_rps: null, ratio: null, p50_ms: null, p99_ms: null },
  batch: { deks_per_s: null },
  dek_reason: {
    with_reason_rps: null,
    without_reason_rps: null,
    with_reason_ratio: null,
    reason_handling_ns_per_request: null,
  },
  single_flight: { concurrent: null, kms_calls: null },
  kms_calls_per_million_dek_fetches: null,
  kms_calls_analytic_min_per_million: null,
  cache_hit_ratio: null,
  cold_fetch: { ms: null, injected_ms: null, ratio: null },
  rewrap: { workspaces: null, seconds: null, bound_seconds: null, ratio: null },
  kek_rotation: { deks: null, deks_per_s: null, worker_peak_rss_mb: null },
  memory: { kek_cache_bytes_per_workspace: null, dek_cache_bytes_per_dek: null },
  revocation: { seconds_to_410: null, seconds_all_replicas: null },
  client: {
    cached_dek_ops_per_s: null,
    encrypt_mb_per_s: null,
    raw_aes_gcm_mb_per_s: null,
    encrypt_ratio: null,
    shred_propagation_ms: null,
  },
  scaling: { sizes: [], postgres: null, redis: null },
  kms_calls_per_s_per_10k_workspaces: { per_api_replica: null },
  siem: { events: null, events_per_s: null, worker_peak_rss_mb: null },
  lists: { small: null, large: null, p99_ratio: null },
} as const;

/** Which top-level keys each section fills. */
const FILLS: Record<string, string[]> = {
  'dek-fetch': ['dek_fetch', 'batch', 'profile'],
  'access-reasons': ['dek_reason'],
  cold: ['single_flight', 'cold_fetch'],
  economy: ['kms_calls_per_million_dek_fetches', 'kms_calls_analytic_min_per_million', 'cache_hit_ratio', 'economy'],
  memory: ['memory'],
  rewrap: ['rewrap'],
  'kek-rotation': ['kek_rotation'],
  revocation: ['revocation'],
  client: ['client'],
  scaling: ['scaling', 'kms_calls_per_s_per_10k_workspaces'],
  siem: ['siem'],
  lists: ['lists'],
};

export type Results = Record<string, unknown> & {
  mode: string;
  not_measured: Record<string, string>;
};

export function assemble(
  outcomes: Partial<Record<string, SectionOutcome<unknown>>>,
  meta: Record<string, unknown>,
): Results {
  const out: Results = { ...meta, mode: String(meta.mode), ...structuredClone(SKELETON), not_measured: {} };
  for (const [section, outcome] of Object.entries(outcomes)) {
    if (!outcome) continue;
    if (!outcome.ok) {
      if (section !== 'seed' || outcome.reason) out.not_measured[section] = outcome.reason;
      continue;
    }
    const value = outcome.value as Record<string, unknown>;
    for (const key of FILLS[section] ?? []) if (key in value) out[key] = value[key];
  }
  return out;
}

type Obj = Record<string, number | null | undefined>;
const get = (r: Results, key: string): Obj => (r[key] ?? {}) as Obj;
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The targets, each met / missed / not run. */
export function buildTargets(r: Results): Target[] {
  const dek = get(r, 'dek_fetch');
  const cold = get(r, 'cold_fetch');
  const sf = get(r, 'single_flight');
  const multi = ((r.single_flight as Record<string, unknown> | undefined)?.multi ?? {}) as Obj;
  const rw = get(r, 'rewrap');
  const kr = get(r, 'kek_rotation');
  const mem = get(r, 'memory');
  const rev = (r.revocation ?? {}) as {
    seconds_to_410?: number | null;
    seconds_all_replicas?: number | null;
    bound_seconds?: number;
  };
  const econ = num(r.kms_calls_per_million_dek_fetches);
  const econMin = num(r.kms_calls_analytic_min_per_million);
  const revMeasured = !('revocation' in r.not_measured) && rev.bound_seconds !== undefined;
  const revTarget = (name: string, v: number | null | undefined): Target => {
    if (!revMeasured) return { name, goal: 'within window + one probe interval', actual: 'n/a', met: null };
    if (v === null || v === undefined)
      return { name, goal: `≤ ${rev.bound_seconds} s`, actual: 'never (timed out)', met: false };
    return target(name, `≤ ${rev.bound_seconds} s`, v, (x) => x <= rev.bound_seconds!, ' s');
  };
  return [
    target('DEK fetch / ceiling (50 conns)', '≥ 0.8', num(dek.ratio), (v) => v >= 0.8),
    target(
      'DEK fetch with reason / without (same run)',
      '≥ 0.97',
      num(get(r, 'dek_reason').with_reason_ratio),
      (v) => v >= 0.97,
    ),
    target(
      'reason handling per warm request',
      '≤ 1000 ns',
      num(get(r, 'dek_reason').reason_handling_ns_per_request),
      (v) => v <= 1000,
      ' ns',
    ),
    target('DEK fetch p99', '≤ 10 ms', num(dek.p99_ms), (v) => v <= 10, ' ms'),
    target('DEK fetch req/s (info)', '—', num(dek.rps), () => true),
    target('ceiling req/s (info)', '—', num(dek.ceiling_rps), () => true),
    target('batch of 100: DEKs/s (info)', '—', num(get(r, 'batch').deks_per_s), () => true),
    target(
      `single flight: KMS calls for ${sf.concurrent ?? 1000} cold fetches`,
      '= 1',
      num(sf.kms_calls),
      (v) => v === 1,
    ),
    target(
      `single flight: ${multi.workspaces ?? 100} cold ws × ${multi.per_workspace ?? 10}`,
      `= ${multi.workspaces ?? 100}`,
      num(multi.kms_calls),
      (v) => v === (multi.workspaces ?? 100),
    ),
    target(
      'KMS calls per 1M DEK fetches / analytic min',
      '≤ 1.1',
      econ !== null && econMin ? Math.round((econ / econMin) * 1000) / 1000 : null,
      (v) => v <= 1.1,
    ),
    target('KEK cache hit ratio (info)', '—', num(r.cache_hit_ratio), () => true),
    target('cold fetch / injected latency', '≤ 1.2', num(cold.ratio), (v) => v <= 1.2),
    target('CMK rewrap wall / 2N/R', '≤ 1.2', num(rw.ratio), (v) => v <= 1.2),
    target('KEK rotation DEKs/s', '≥ 20000', num(kr.deks_per_s), (v) => v >= 20_000),
    target('KEK rotation worker peak RSS', '≤ 300 MB', num(kr.worker_peak_rss_mb), (v) => v <= 300, ' MB'),
    target('bytes per cached workspace', '≤ 2048', num(mem.kek_cache_bytes_per_workspace), (v) => v <= 2048, ' B'),
    target('bytes per cached plaintext DEK (info)', '—', num(mem.dek_cache_bytes_per_dek), () => true, ' B'),
    revTarget('revocation: first 410', rev.seconds_to_410),
    revTarget('revocation: all replicas 410', rev.seconds_all_replicas),
    target('client encrypt / raw AES-GCM (1 MiB)', '≥ 0.9', num(get(r, 'client').encrypt_ratio), (v) => v >= 0.9),
    target('client cached DEK ops/s (info)', '—', num(get(r, 'client').cached_dek_ops_per_s), () => true),
    target(
      'client shred propagation p99',
      '≤ 2000 ms',
      num(get(r, 'client').shred_propagation_ms),
      (v) => v <= 2_000,
      ' ms',
    ),
    ...scalingTargets(r),
    ...listsTargets(r),
  ];
}

/** The workspace list: a tenant of 100,000 workspaces browses as fast as one of 10 (p99, worst list query). */
function listsTargets(r: Results): Target[] {
  const l = (r.lists ?? {}) as {
    p99_ratio?: number | null;
    p50_ratio?: number | null;
    large?: { workspaces: number; p99_ms: Record<string, number> } | null;
  };
  const n = l.large?.workspaces ?? 100_000;
  return [
    target(`workspace list p99: ${n} / 10 workspaces (worst query)`, '≤ 2', num(l.p99_ratio), (v) => v <= 2),
    target(`workspace list p50: ${n} / 10 workspaces, worst query (info)`, '—', num(l.p50_ratio), () => true),
    target(
      `workspace list p99 at ${n} workspaces, by name (info)`,
      '—',
      num(l.large?.p99_ms.by_name),
      () => true,
      ' ms',
    ),
  ];
}

/** The scaling curve: DEK fetch / ceiling at each size should not fall as the population grows (info rows). */
function scalingTargets(r: Results): Target[] {
  const sizes =
    (
      r.scaling as
        { sizes?: Array<{ workspaces: number; ratio: number | null; heap_bytes_per_workspace: number }> } | undefined
    )?.sizes ?? [];
  const rows: Target[] = sizes.map((p) =>
    target(`scaling: DEK fetch / ceiling at ${p.workspaces} workspaces (info)`, '—', num(p.ratio), () => true),
  );
  const kms = num((r.kms_calls_per_s_per_10k_workspaces as Obj | undefined)?.per_api_replica);
  rows.push(target('KMS calls/s per 10k workspaces per replica (info)', '—', kms, () => true));
  return rows;
}

/**
 * `--only` runs measure some sections; the others keep the figures of the previous run of the same mode, each marked
 * with the run it came from (`carried_over`), so a partial run never silently mixes modes or hides its provenance.
 */
export function carryOver(out: Results, prior: Results | null, notSelected: readonly string[]): Results {
  if (!prior || prior.mode !== out.mode) return out;
  const from = (prior.carried_over as Record<string, string> | undefined) ?? {};
  const carried: Record<string, string> = {};
  for (const section of notSelected) {
    if (section in prior.not_measured) continue;
    for (const key of FILLS[section] ?? []) if (key in prior) out[key] = prior[key];
    delete out.not_measured[section];
    carried[section] = from[section] ?? String(prior.started_at);
  }
  if (Object.keys(carried).length) out.carried_over = carried;
  return out;
}
