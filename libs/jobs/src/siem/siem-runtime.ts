import { Job, Queue, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { SiemDestinationRepository } from '@app/persistence';
import { SiemDelivery, SiemSettings, SiemTransport } from '@app/siem';
import { QueueName } from '../contracts';
import type { JobsLogger } from '../runtime';

/** BullMQ queue of SIEM deliveries (a name persisted in Redis: add, never rename). */
export const SIEM_QUEUE = QueueName.SiemDelivery;
export const SIEM_JOB = 'siem-deliver';

export interface SiemJobData {
  readonly destinationId: string;
  readonly tenantId: string;
}

/**
 * SIEM streaming in the worker (docs/ARCHITECTURE.md "SIEM streaming"). The audit log is the queue: a sweep every
 * `pollMs` finds active destinations whose tenant wrote past their cursor and adds one job per destination with
 * the job id `siem-<destination>`, which BullMQ refuses to duplicate while it waits, runs or backs off, so one
 * destination is delivered by one job at a time, in order. A failed attempt throws: BullMQ retries it with capped
 * exponential backoff; past `maxFailures` consecutive failures the destination is dead-lettered (the console's
 * retry puts it back). A worker killed mid-batch loses its job lock and another worker re-sends that batch from
 * the Postgres cursor. Redis losing everything loses nothing either: the next sweep re-adds the jobs.
 */
export class SiemRuntime {
  readonly queue: Queue<SiemJobData>;
  private worker?: Worker<SiemJobData>;
  private timer?: NodeJS.Timeout;
  private sweeping = false;
  private readonly abort = new AbortController();
  private readonly repo: SiemDestinationRepository;
  private readonly transport: SiemTransport;
  private readonly delivery: SiemDelivery;
  private readonly delivered: Counter;
  private readonly failures: Counter;

  constructor(
    private readonly deps: {
      ds: DataSource;
      redis: Redis;
      prefix: string;
      sealingRootKey: string;
      registry: Registry;
      log: JobsLogger;
    },
    private readonly settings: SiemSettings,
    private readonly lock: { lockDurationMs: number; stalledIntervalMs: number },
  ) {
    this.repo = new SiemDestinationRepository(deps.ds);
    this.transport = new SiemTransport({ allowLoopback: settings.allowLoopback, maxSockets: settings.concurrency * 2 });
    this.queue = new Queue<SiemJobData>(SIEM_QUEUE, { connection: deps.redis, prefix: deps.prefix });
    this.delivered = new Counter({
      name: 'keyhold_siem_events_delivered_total',
      help: 'Audit events acknowledged (2xx) by SIEM destinations',
      registers: [deps.registry],
    });
    this.failures = new Counter({
      name: 'keyhold_siem_delivery_failures_total',
      help: 'Failed SIEM delivery attempts',
      labelNames: ['outcome'],
      registers: [deps.registry],
    });
    this.delivery = new SiemDelivery(deps.ds, this.transport, settings, deps.sealingRootKey, (n) =>
      this.delivered.inc(n),
    );
    const repo = this.repo;
    let health: Promise<{ maxLagSeconds: number; deadLetters: number }> | null = null;
    // One query per scrape for both gauges.
    const read = () => (health ??= repo.health().finally(() => setTimeout(() => (health = null), 500).unref()));
    new Gauge({
      name: 'keyhold_siem_lag_seconds',
      help: 'Age of the oldest audit event not yet acknowledged by a SIEM destination (worst destination; 0 when all caught up)',
      registers: [deps.registry],
      async collect() {
        this.set((await read().catch(() => ({ maxLagSeconds: 0 }))).maxLagSeconds);
      },
    });
    new Gauge({
      name: 'keyhold_siem_dead_letters',
      help: 'SIEM destinations in the dead-letter state (delivery stopped until a key admin retries)',
      registers: [deps.registry],
      async collect() {
        this.set((await read().catch(() => ({ deadLetters: 0 }))).deadLetters);
      },
    });
  }

  async start(): Promise<void> {
    const s = this.settings;
    this.worker = new Worker<SiemJobData>(SIEM_QUEUE, (job) => this.process(job), {
      connection: this.deps.redis,
      prefix: this.deps.prefix,
      concurrency: s.concurrency,
      lockDuration: this.lock.lockDurationMs,
      stalledInterval: this.lock.stalledIntervalMs,
      maxStalledCount: 1_000, // a killed worker's delivery is re-run from the cursor, never failed
      autorun: false,
      settings: {
        backoffStrategy: (attemptsMade: number) => {
          const exp = Math.min(s.backoffCapMs, s.backoffBaseMs * 2 ** Math.max(0, attemptsMade - 1));
          return Math.round(exp / 2 + Math.random() * (exp / 2)); // "equal jitter"
        },
      },
    });
    this.worker.on('error', (err) => this.deps.log('warn', 'siem worker error', { err: err.message }));
    void this.worker
      .run()
      .catch((err: unknown) => this.deps.log('error', 'siem worker loop stopped', { err: String(err) }));
    await this.worker.waitUntilReady();
    this.timer = setInterval(() => void this.sweep(), s.pollMs);
    this.timer.unref();
    await this.sweep();
  }

  /** Adds a job for every active destination with undelivered events (existing job ids are left alone). */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      const due = await this.repo.due();
      if (due.length)
        await this.queue.addBulk(
          due.map((d) => ({
            name: SIEM_JOB,
            data: { destinationId: d.id, tenantId: d.tenantId },
            opts: {
              jobId: `siem-${d.id}`,
              attempts: 1_000_000,
              backoff: { type: 'custom' },
              removeOnComplete: true,
              removeOnFail: true,
            },
          })),
        );
      return due.length;
    } catch (err) {
      this.deps.log('warn', 'siem sweep failed', { err: err instanceof Error ? err.message : String(err) });
      return 0;
    } finally {
      this.sweeping = false;
    }
  }

  private async process(job: Job<SiemJobData>): Promise<unknown> {
    const r = await this.delivery.deliver(job.data.destinationId, this.abort.signal);
    if (r.outcome === 'failed' || r.outcome === 'dead-letter') {
      this.failures.inc({ outcome: r.outcome });
      this.deps.log(r.outcome === 'dead-letter' ? 'error' : 'warn', 'siem delivery failed', {
        destinationId: job.data.destinationId,
        tenantId: job.data.tenantId,
        outcome: r.outcome,
        error: r.error,
      });
      // Throwing hands the retry to BullMQ's backoff; a dead-lettered destination's job just ends.
      if (r.outcome === 'failed') throw new Error(r.error ?? 'delivery failed');
    }
    return { delivered: r.delivered, outcome: r.outcome };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    await this.worker?.close().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    this.transport.close();
  }
}
