import { Inject, Injectable } from '@nestjs/common';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { KekCache } from '@app/kek-cache';
import { SegmentDestroyMetric } from '@app/keys';
import { REPOSITORIES, type Repositories } from '@app/persistence';
import { ProviderCallObserver } from '@app/provider-port';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** An unfinished operation untouched this long is stalled: well past the reconciler's re-enqueue delay. */
export const OPERATION_STALLED_AFTER_SECONDS = 600;

/**
 * Prometheus metrics of one API instance, in its own registry (several apps can live in one test process).
 * KMS calls come from the ProviderCallObserver (the one choke point every binding goes through).
 */
@Injectable()
export class ApiMetrics {
  readonly registry = new Registry();
  readonly kmsCalls = new Counter({
    name: 'keyhold_kms_calls_total',
    help: 'Customer KMS calls by provider, operation and outcome',
    labelNames: ['provider', 'operation', 'outcome'],
    registers: [this.registry],
  });
  readonly kmsLatency = new Histogram({
    name: 'keyhold_kms_call_duration_seconds',
    help: 'Customer KMS call latency',
    labelNames: ['provider', 'operation'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /**
   * Hot-path counts are plain integers, turned into Prometheus samples only when /metrics is scraped: a
   * prom-client `inc` with labels costs microseconds per request (label hashing, object per call); these cost
   * an add. The exported series and names are unchanged.
   */
  /** Segment-level crypto-shreds by principal (`service:<id>` / `admin:<id>`) and outcome. */
  readonly segmentDestroys: Counter;
  readonly dek = new DekCounts();
  readonly http = new HttpCounts();

  constructor(
    observer: ProviderCallObserver,
    cache: KekCache,
    segmentDestroys: SegmentDestroyMetric,
    @Inject(KEYHOLD_CONFIG) config: KeyholdConfig,
    @Inject(REPOSITORIES) repos: Repositories,
  ) {
    // Counted by the DestroySegment use case (KeysModule), exported here.
    this.segmentDestroys = segmentDestroys.counter;
    this.registry.registerMetric(this.segmentDestroys);
    const dek = this.dek;
    const http = this.http;
    new Counter({
      name: 'keyhold_dek_requests_total',
      help: 'DEK API requests by outcome',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        if (dek.ok) this.inc({ outcome: 'ok' }, dek.ok);
        for (const [outcome, n] of dek.failures) this.inc({ outcome }, n);
      },
    });
    new Counter({
      name: 'keyhold_deks_issued_total',
      help: 'DEKs returned by the DEK API',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(dek.issued);
      },
    });
    new Counter({
      name: 'keyhold_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        http.forEach((method, route, status, n) => this.inc({ method, route, status: String(status) }, n));
      },
    });
    const failovers = new Counter({
      name: 'keyhold_kms_failovers_total',
      help: 'Customer KMS calls answered by the replica key because the primary region answered a transient error (from = its class)',
      labelNames: ['provider', 'operation', 'from'],
      registers: [this.registry],
    });
    observer.onFailover((e) => failovers.inc({ provider: e.provider, operation: e.operation, from: e.fromClass }));
    observer.subscribe((e) => {
      this.kmsCalls.inc({ provider: e.provider, operation: e.operation, outcome: e.outcome });
      this.kmsLatency.observe({ provider: e.provider, operation: e.operation }, e.latencyMs / 1000);
    });
    for (const [name, help, read] of [
      ['keyhold_kek_cache_hits_total', 'KEK cache hits', () => cache.stats.hits],
      ['keyhold_kek_cache_misses_total', 'KEK cache misses', () => cache.stats.misses],
      [
        'keyhold_kek_cache_unwraps_total',
        'KMS unwraps performed to fill the KEK cache (single flight)',
        () => cache.stats.unwraps,
      ],
      ['keyhold_kek_cache_evictions_total', 'KEKs evicted (TTL or size) and zeroed', () => cache.stats.evictions],
      [
        'keyhold_dek_cache_hits_total',
        'DEK requests answered from the plaintext DEK cache (no unwrap)',
        () => cache.stats.dekHits,
      ],
      [
        'keyhold_dek_cache_evictions_total',
        'plaintext DEKs evicted and zeroed by the byte bound (KEYHOLD_DEK_CACHE_MAX_BYTES)',
        () => cache.stats.dekEvictions,
      ],
    ] as const)
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    // Keyhold's own secrets: when each operator token stops working, and which key signs (a rotation shows as a
    // change of label on every replica; two labels at once for long means a rollout stopped half way).
    const operatorTokens = config.operatorTokens;
    new Gauge({
      name: 'keyhold_operator_token_expiry_timestamp_seconds',
      help: 'When each named operator token expires (Unix time); tokens that never expire are not listed',
      labelNames: ['name'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const t of operatorTokens)
          if (t.expiresAt) this.set({ name: t.name }, Math.floor(t.expiresAt.getTime() / 1000));
      },
    });
    new Gauge({
      name: 'keyhold_token_signing_key_info',
      help: 'The key id new access tokens are signed with (value 1), and how many keys verify',
      labelNames: ['kid', 'verifying_keys'],
      registers: [this.registry],
    }).set({ kid: config.tokenKeys[0].kid, verifying_keys: String(config.tokenKeys.length) }, 1);
    new Gauge({
      name: 'keyhold_kek_cache_entries',
      help: 'Plaintext KEKs currently cached',
      registers: [this.registry],
      collect() {
        this.set(cache.size());
      },
    });
    new Gauge({
      name: 'keyhold_dek_cache_bytes',
      help: 'Bytes charged by the plaintext DEKs cached under their KEKs (bounded by KEYHOLD_DEK_CACHE_MAX_BYTES)',
      registers: [this.registry],
      collect() {
        this.set(cache.snapshot().dekBytes);
      },
    });
    new Gauge({
      name: 'keyhold_workspaces',
      help: 'Workspaces by key state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const r of await repos.workspaces.countByState()) this.set({ state: r.keyState }, r.n);
      },
    });
    // Operations, read at scrape time like the workspace states: the stuck-operation alert needs them even when
    // every worker is down (then nothing else reports).
    let operations: Promise<
      Array<{ kind: string; state: string; n: number; stalled: number; oldestSeconds: number }>
    > | null = null;
    const readOperations = () =>
      (operations ??= repos.operations
        .unfinishedStats(OPERATION_STALLED_AFTER_SECONDS)
        .finally(() => setImmediate(() => (operations = null))));
    new Gauge({
      name: 'keyhold_operations_unfinished',
      help: 'Operations queued or running, by kind and state',
      labelNames: ['kind', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const r of await readOperations()) this.set({ kind: r.kind, state: r.state }, r.n);
      },
    });
    new Gauge({
      name: 'keyhold_operations_stalled',
      help: `Unfinished operations whose row nobody has touched for over ${OPERATION_STALLED_AFTER_SECONDS} s (running jobs heartbeat it), by kind`,
      labelNames: ['kind'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const byKind = new Map<string, number>();
        for (const r of await readOperations()) byKind.set(r.kind, (byKind.get(r.kind) ?? 0) + r.stalled);
        for (const [kind, n] of byKind) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'keyhold_operation_oldest_unfinished_seconds',
      help: 'Age of the oldest queued or running operation (0 when none)',
      registers: [this.registry],
      async collect() {
        this.set(Math.max(0, ...(await readOperations()).map((r) => r.oldestSeconds)));
      },
    });
    new Gauge({
      name: 'keyhold_vendor_canary_healthy',
      help: "1 when the vendor-owned canary key answers through Keyhold's own identity path, 0 when it fails (customer revocation verdicts on that provider are held); as last recorded by a worker",
      labelNames: ['provider'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const c of await repos.vendorCanaries.list()) this.set({ provider: c.provider }, c.healthy ? 1 : 0);
      },
    });
  }
}

/** DEK API outcome counts (integers; exported at scrape time). */
export class DekCounts {
  /** Successful requests. */
  ok = 0;
  /** DEKs returned. */
  issued = 0;
  readonly failures = new Map<string, number>();

  fail(outcome: string): void {
    this.failures.set(outcome, (this.failures.get(outcome) ?? 0) + 1);
  }
}

/**
 * HTTP request counts by route → method → status, nested so recording builds no key string. Routes are the
 * registered route patterns (or 'unmatched'), so the key space is bounded by the route table.
 */
export class HttpCounts {
  private readonly byRoute = new Map<string, Map<string, Map<number, number>>>();

  record(method: string, route: string, status: number): void {
    let methods = this.byRoute.get(route);
    if (methods === undefined) this.byRoute.set(route, (methods = new Map<string, Map<number, number>>()));
    let statuses = methods.get(method);
    if (statuses === undefined) methods.set(method, (statuses = new Map<number, number>()));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }

  forEach(fn: (method: string, route: string, status: number, n: number) => void): void {
    for (const [route, methods] of this.byRoute)
      for (const [method, statuses] of methods) for (const [status, n] of statuses) fn(method, route, status, n);
  }
}
