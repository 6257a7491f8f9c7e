import { Job, Queue, Worker } from 'bullmq';
import type Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import {
  BulkJobData,
  JobName,
  OPERATION_KINDS,
  OperationJobData,
  OperationKind,
  ProbeJobData,
  QueueName,
  ROUTES,
} from './contracts';
import { OperationDispatcher } from './dispatcher';
import { BackoffPolicy } from './engine/backoff';
import { HandlerRegistry } from './engine/handler-registry';
import type { OperationHandler, StepHook } from './engine/operation-handler';
import { OperationRunner } from './engine/operation-runner';
import { ProviderGate, ProviderRateLimits } from './engine/provider-gate';
import { RedisTokenBucket } from './engine/token-bucket';
import { JobMetrics } from './observability/job-metrics';
import { CmkRewrapHandler } from './operations/cmk-rewrap.handler';
import { KekRotationHandler } from './operations/kek-rotation.handler';
import { KekWrapping } from './operations/kek-wrapping';
import { RekeyHandler } from './operations/rekey.handler';
import { ReinstateHandler } from './operations/reinstate.handler';
import { RevocationCheckHandler } from './operations/revocation-check.handler';
import { RewrapUnderKey } from './operations/rewrap-under-key';
import type { AuditSink, BulkRunner, KekCacheControl, KeyCrypto, ProviderResolver } from './ports';
import { AccessProber } from './revocation/access-prober';
import { ConfirmationPolicy, validatePolicy } from './revocation/confirmation-policy';
import { ProbeKeyConfiguration } from './revocation/probe-key-configuration';
import { OperationTrigger } from './scheduling/operation-trigger';
import { ProbeSweep } from './scheduling/probe-sweep';
import { Reconciler } from './scheduling/reconciler';
import { RotationCheck, RotationLimits } from './scheduling/rotation-check';
import { ScheduledProbe } from './scheduling/scheduled-probe';
import { CanaryTarget, VendorCanary } from './revocation/vendor-canary';
import { BindTenant, BoundKeyConfigurations } from './operations/key-configurations';
import { createRepositories } from '@app/persistence';

export type JobsLogger = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface JobsRuntimeOptions {
  /** BullMQ key prefix (KEYHOLD_REDIS_PREFIX): every queue, lock and rate-limit bucket lives under it. */
  readonly prefix: string;
  readonly concurrency: { readonly operations: number; readonly probes: number; readonly rewraps?: number };
  /** BullMQ job lock; a worker that dies loses its jobs to another after about this long. */
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly heartbeatMs: number;
  readonly reconcileIntervalMs: number;
  /** An unfinished operation untouched this long is checked by the reconciler. */
  readonly reconcileStaleMs: number;
  readonly probeIntervalMs: number;
  readonly rotationCheckIntervalMs: number;
  readonly policy: ConfirmationPolicy;
  readonly rateLimits: ProviderRateLimits;
  /** Attempts of one provider call before a transient failure parks the job (default 4). */
  readonly providerAttemptsInPlace?: number;
  readonly transientBackoff: BackoffPolicy;
  readonly maxTransientProbes: number;
  readonly rotation: RotationLimits;
  readonly dekBatchSize: number;
  /** Run the schedulers (probe sweep, rotation check) from this worker; default true. */
  readonly schedulers?: boolean;
  readonly stepHook?: StepHook;
  readonly log: JobsLogger;
}

export interface JobsRuntimeDeps {
  readonly ds: DataSource;
  /**
   * Pool for the session advisory locks jobs hold while they run (one connection each, for the whole job). Kept
   * apart from `ds` so lock holders can never starve the work they are waiting for. Defaults to `ds`.
   */
  readonly lockDs?: DataSource;
  /** A connection for BullMQ workers and queues (maxRetriesPerRequest: null). */
  readonly redis: Redis;
  readonly providers: ProviderResolver;
  readonly bindTenant?: BindTenant;
  readonly crypto: KeyCrypto;
  readonly cache: KekCacheControl;
  readonly audit: AuditSink;
  readonly metrics: JobMetrics;
  /** Vendor-owned canary keys, one per cloud at most (none = the aggregate positive control alone). */
  readonly canaries?: readonly CanaryTarget[];
  /**
   * The bulk operations' use case, built on this runtime's dispatcher (a re-key or rewrap item enqueues its child
   * operation). Without it this worker does not consume the bulk queue.
   */
  readonly bulk?: (dispatcher: OperationDispatcher) => BulkRunner;
}

/**
 * Everything the worker runs, wired once: the five operation handlers behind one runner, the access-probe,
 * maintenance and operation queues, the job schedulers and the reconciler. Refuses to start if any operation kind
 * lacks a handler.
 */
export class JobsRuntime {
  readonly dispatcher: OperationDispatcher;
  readonly handlers: HandlerRegistry;
  readonly reconciler: Reconciler;
  readonly probeSweep: ProbeSweep;
  readonly rotationCheck: RotationCheck;
  private readonly workers: Worker[] = [];
  private readonly abort = new AbortController();
  private reconcileTimer?: NodeJS.Timeout;
  private canaryTimer?: NodeJS.Timeout;
  readonly canary: VendorCanary;
  private readonly runner: OperationRunner;
  private readonly scheduledProbe: ScheduledProbe;
  private readonly maintenance: Queue;
  private readonly bulk?: BulkRunner;

  constructor(
    private readonly deps: JobsRuntimeDeps,
    private readonly options: JobsRuntimeOptions,
  ) {
    validatePolicy(options.policy);
    const { ds, redis, metrics } = deps;
    const repos = createRepositories(ds);
    const configs = new BoundKeyConfigurations(repos.keyConfigurations, deps.bindTenant);
    const gate = new ProviderGate(
      new RedisTokenBucket(redis, options.prefix),
      options.rateLimits,
      { baseMs: 100, capMs: 2_000, floorMs: 10 },
      options.providerAttemptsInPlace ?? 4,
    );
    const wrapping = new KekWrapping(deps.providers, gate, deps.crypto);
    const rewrap = new RewrapUnderKey(repos.keks, configs, wrapping);
    const prober = new AccessProber(repos.keks, deps.providers, gate, wrapping);
    this.canary = new VendorCanary(deps.canaries ?? [], deps.providers, repos.vendorCanaries, metrics, options.log);
    const probe = new ProbeKeyConfiguration(
      repos,
      prober,
      deps.cache,
      deps.audit,
      metrics,
      options.policy,
      this.canary,
    );

    this.dispatcher = new OperationDispatcher(redis, options.prefix);
    const trigger = new OperationTrigger(repos, this.dispatcher, deps.audit);
    const handlers: OperationHandler[] = [
      new CmkRewrapHandler(repos, configs, wrapping, rewrap, deps.audit),
      new RekeyHandler(repos, configs, rewrap, deps.cache, deps.audit),
      new KekRotationHandler(repos, configs, wrapping, deps.crypto, deps.cache, deps.audit, metrics, {
        batchSize: options.dekBatchSize,
      }),
      new RevocationCheckHandler(repos.workspaces, configs, probe, {
        policy: options.policy,
        transientBackoff: options.transientBackoff,
        maxTransientProbes: options.maxTransientProbes,
      }),
      new ReinstateHandler(repos, configs, wrapping, deps.cache, deps.audit),
    ];
    this.handlers = new HandlerRegistry(handlers);
    this.handlers.assertCovers(OPERATION_KINDS);

    this.runner = new OperationRunner(
      deps.lockDs ?? ds,
      repos.operations,
      this.handlers,
      metrics,
      {
        transientBackoff: options.transientBackoff,
        heartbeatMs: options.heartbeatMs,
        busyDelayMs: 1_000,
        log: options.log,
        stepHook: options.stepHook,
        onRevocationSignal: async (op, errorClass) => {
          await trigger.trigger({
            tenantId: op.tenantId,
            workspaceId: op.workspaceId,
            kind: OperationKind.RevocationCheck,
            reason: `${op.kind} failed with ${errorClass}`,
          });
        },
      },
      this.abort.signal,
    );
    this.scheduledProbe = new ScheduledProbe(repos.workspaces, configs, probe, trigger);
    this.reconciler = new Reconciler(
      repos.operations,
      this.dispatcher,
      options.reconcileStaleMs,
      options.log,
      repos.bulkOperations,
    );
    this.bulk = deps.bulk?.(this.dispatcher);
    this.probeSweep = new ProbeSweep(
      repos.keyConfigurations,
      this.dispatcher.queue(QueueName.AccessProbe),
      options.probeIntervalMs,
    );
    this.rotationCheck = new RotationCheck(repos, configs, wrapping, trigger, options.rotation);
    this.maintenance = new Queue(QueueName.Maintenance, { connection: redis, prefix: options.prefix });
  }

  /** The queues an operator dashboard should show. */
  queues(): Queue[] {
    const names = new Set<QueueName>([
      ...Object.values(ROUTES).map((r) => r.queue),
      QueueName.BulkOperation,
      QueueName.Maintenance,
    ]);
    return [...names].map((n) => (n === QueueName.Maintenance ? this.maintenance : this.dispatcher.queue(n)));
  }

  async start(): Promise<void> {
    const o = this.options;
    const common = {
      connection: this.deps.redis,
      prefix: o.prefix,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      maxStalledCount: 1_000, // a crash mid-operation is recovered by re-running it, never by failing it
      autorun: false,
    };
    const rewraps = (q: QueueName) => q === QueueName.CmkRewrap || q === QueueName.Rekey;
    const operationQueues = new Set(Object.values(ROUTES).map((r) => r.queue));
    for (const name of operationQueues) {
      const probes = name === QueueName.AccessProbe;
      const worker = new Worker(
        name,
        (job: Job, token?: string) =>
          probes ? this.processProbeQueue(job, token) : this.runner.process(job as Job<OperationJobData>, token),
        {
          ...common,
          concurrency: probes
            ? o.concurrency.probes
            : rewraps(name)
              ? (o.concurrency.rewraps ?? o.concurrency.operations)
              : o.concurrency.operations,
        },
      );
      this.attach(worker);
    }
    const maintenance = new Worker(QueueName.Maintenance, (job: Job) => this.processMaintenance(job), {
      ...common,
      concurrency: 1,
    });
    this.attach(maintenance);
    if (this.bulk)
      this.attach(
        new Worker(QueueName.BulkOperation, (job: Job<BulkJobData>) => this.processBulk(job), {
          ...common,
          concurrency: o.concurrency.operations,
        }),
      );
    for (const q of this.queues()) this.deps.metrics.watchQueue(q);

    if (o.schedulers !== false) {
      await this.ensureSchedulers();
      // The scheduler's first sweep comes at the next interval boundary; add the current slot's probes that are still
      // ahead now, so after a (re)start every configuration is probed within one interval (job ids de-duplicate).
      await this.probeSweep
        .execute(Date.now(), { onlyAhead: true })
        .catch((err: unknown) =>
          o.log('warn', 'startup probe sweep failed', { err: err instanceof Error ? err.message : String(err) }),
        );
    }
    // The reconciler runs on a plain timer, not as a BullMQ job: it must work precisely when Redis lost its data
    // (and with it every scheduler). Each run also re-creates the schedulers.
    this.reconcileTimer = setInterval(() => void this.reconcileOnce(), o.reconcileIntervalMs);
    this.reconcileTimer.unref();
    // The canaries on their own schedule (every worker: they are the vendor's own keys, and a worker that cannot
    // reach them must say so on its own /metrics). Customer probes also ask for fresh results on demand.
    if (this.canary.providersWithCanary().length) {
      void this.canary.sweep();
      this.canaryTimer = setInterval(() => void this.canary.sweep(), o.probeIntervalMs);
      this.canaryTimer.unref();
    }
    for (const w of this.workers)
      void w.run().catch((err: unknown) => o.log('error', 'worker loop stopped', { queue: w.name, err: String(err) }));
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    await this.reconcileOnce();
  }

  async reconcileOnce(): Promise<void> {
    try {
      if (this.options.schedulers !== false) await this.ensureSchedulers();
      await this.reconciler.execute();
    } catch (err) {
      this.options.log('warn', 'reconciler run failed', { err: err instanceof Error ? err.message : String(err) });
    }
  }

  private async ensureSchedulers(): Promise<void> {
    await this.maintenance.upsertJobScheduler(
      'probe-sweep',
      // Aligned to interval boundaries (BullMQ's `every` otherwise runs at creation time + k × every): each
      // configuration's probe then lands at the same phase of every slot (ProbeSweep), one interval apart.
      { every: this.options.probeIntervalMs, offset: 1 },
      { name: JobName.ProbeSweep, data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
    await this.maintenance.upsertJobScheduler(
      'rotation-check',
      { every: this.options.rotationCheckIntervalMs },
      {
        name: JobName.RotationCheck,
        data: {},
        opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      },
    );
  }

  private async processProbeQueue(job: Job, token?: string): Promise<unknown> {
    const data = job.data as Partial<OperationJobData & ProbeJobData>;
    if (data.operationId) return this.runner.process(job as Job<OperationJobData>, token);
    if (!data.tenantId || !data.keyConfigurationId) throw new Error('probe job without tenantId/keyConfigurationId');
    const started = process.hrtime.bigint();
    const verdict = await this.scheduledProbe.execute(data.tenantId, data.keyConfigurationId, this.abort.signal);
    this.deps.metrics.observe('scheduled-probe', 'succeeded', Number(process.hrtime.bigint() - started) / 1e9);
    return { verdict };
  }

  /**
   * One bulk operation: its pending items (libs/keys RunBulkOperation). A worker killed mid-way loses the job lock
   * and another worker's stalled-job check runs it again from the items still pending. Items left pending (a
   * workspace whose bind is in progress, or a shutdown) fail this attempt so BullMQ runs it again after a backoff.
   */
  private async processBulk(job: Job<BulkJobData>): Promise<unknown> {
    const started = process.hrtime.bigint();
    const hook = this.options.stepHook;
    const r = await this.bulk!.execute({
      tenantId: job.data.tenantId,
      bulkId: job.data.bulkOperationId,
      signal: this.abort.signal,
      onItem: async () => {
        if (hook) await hook(JobName.BulkOperation, 'item-recorded');
      },
    });
    if (r.deferred) throw new Error(`${r.deferred} item(s) of the bulk operation left pending; retried later`);
    this.deps.metrics.observe(JobName.BulkOperation, 'succeeded', Number(process.hrtime.bigint() - started) / 1e9);
    return r;
  }

  private async processMaintenance(job: Job): Promise<unknown> {
    const started = process.hrtime.bigint();
    let result: unknown;
    if (job.name === JobName.ProbeSweep) result = { probes: await this.probeSweep.execute() };
    else if (job.name === JobName.RotationCheck) result = await this.rotationCheck.execute(this.abort.signal);
    else throw new Error(`unknown maintenance job ${job.name}`);
    this.deps.metrics.observe(job.name, 'succeeded', Number(process.hrtime.bigint() - started) / 1e9);
    return result;
  }

  private attach(worker: Worker): void {
    worker.on('error', (err) => this.options.log('warn', 'worker error', { queue: worker.name, err: err.message }));
    this.workers.push(worker);
  }

  /** Graceful stop: no new jobs, running ones finish (long loops stop at their next checkpoint). */
  async close(): Promise<void> {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    if (this.canaryTimer) clearInterval(this.canaryTimer);
    this.abort.abort(new Error('worker shutting down'));
    await Promise.all(this.workers.map((w) => w.close().catch(() => undefined)));
    await this.maintenance.close().catch(() => undefined);
    await this.dispatcher.close().catch(() => undefined);
  }
}
