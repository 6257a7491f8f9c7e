import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queue } from 'bullmq';

export type JobOutcome = 'succeeded' | 'failed' | 'parked' | 'retried' | 'skipped';

/**
 * Job metrics in a prom-client registry the worker exposes on /metrics: how long operations take, how they end,
 * how deep the queues are, and what access probes conclude (the numbers an on-call engineer reads first when a
 * tenant says "my workspace went dark").
 */
export class JobMetrics {
  readonly duration: Histogram<'kind' | 'outcome'>;
  readonly outcomes: Counter<'kind' | 'outcome'>;
  readonly probes: Counter<'provider' | 'verdict'>;
  readonly probeWarnings: Counter<'provider' | 'warning'>;
  readonly dekRewraps: Counter;
  readonly queueDepth: Gauge<'queue' | 'state'>;
  readonly vendorCanary: Gauge<'provider'>;
  readonly kmsFailovers: Counter<'provider' | 'operation' | 'from'>;
  private readonly queues = new Set<Queue>();

  constructor(readonly registry: Registry = new Registry()) {
    this.duration = new Histogram({
      name: 'keyhold_job_duration_seconds',
      help: 'Wall time of one job execution (one run of an operation, not the whole operation)',
      labelNames: ['kind', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.outcomes = new Counter({
      name: 'keyhold_jobs_total',
      help: 'Job executions by operation kind and outcome (parked = delayed by backoff, never failed)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    });
    this.kmsFailovers = new Counter({
      name: 'keyhold_kms_failovers_total',
      help: 'Customer KMS calls answered by the replica key because the primary region answered a transient error (from = its class)',
      labelNames: ['provider', 'operation', 'from'],
      registers: [registry],
    });
    this.probes = new Counter({
      name: 'keyhold_access_probes_total',
      help: 'Access probes of key configurations by provider and verdict (restore, degraded, suspect, shred)',
      labelNames: ['provider', 'verdict'],
      registers: [registry],
    });
    this.probeWarnings = new Counter({
      name: 'keyhold_access_probe_warnings_total',
      help: 'Access probes that proved access but met a refusal to fix (describe_denied: the key service refused to describe the key while unwrap works; never a revocation)',
      labelNames: ['provider', 'warning'],
      registers: [registry],
    });
    this.dekRewraps = new Counter({
      name: 'keyhold_dek_rewraps_total',
      help: 'DEKs rewrapped under a new KEK version by KEK rotation',
      registers: [registry],
    });
    this.vendorCanary = new Gauge({
      name: 'keyhold_vendor_canary_healthy',
      help: "1 when the vendor-owned canary key answers through Keyhold's own identity path, 0 when it fails (customer revocation verdicts on that provider are held)",
      labelNames: ['provider'],
      registers: [registry],
    });
    const queues = this.queues;
    this.queueDepth = new Gauge({
      name: 'keyhold_queue_depth',
      help: 'Jobs per queue and state, read from Redis at scrape time',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const q of queues) {
          try {
            const counts = await q.getJobCounts(
              'waiting',
              'active',
              'delayed',
              'failed',
              'prioritized',
              'waiting-children',
            );
            for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
          } catch {
            // Redis unreachable: leave the series out rather than fail the whole scrape.
          }
        }
      },
    });
  }

  watchQueue(queue: Queue): void {
    this.queues.add(queue);
  }

  observe(kind: string, outcome: JobOutcome, seconds: number): void {
    this.duration.observe({ kind, outcome }, seconds);
    this.outcomes.inc({ kind, outcome });
  }
}
