import { DynamicModule, Inject, Injectable, Module, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { AuditLog, AuditModule } from '@app/audit';
import { ConfigModule, KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { keyCrypto } from '@app/crypto';
import { JobMetrics, JobsRuntime, SiemRuntime, type StepHook } from '@app/jobs';
import { KekInvalidationBus, KekPublisherModule } from '@app/kek-cache';
import {
  BindWorkspace,
  type KeysDeps,
  ProviderRegistry,
  ProvidersModule,
  RequestOperation,
  RunBulkOperation,
} from '@app/keys';
import { LOCKS_DATA_SOURCE, PersistenceModule, REDIS, REPOSITORIES, type Repositories } from '@app/persistence';
import { ProviderCallObserver, type KeyConfig } from '@app/provider-port';
import { loadSiemSettings, type SiemSettings } from '@app/siem';
import { errorSummary, LOGGER, LoggerModule } from '@app/telemetry';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { startMetricsServer } from './metrics-server';
import { canaryTargets } from './vendor-canaries';
import { runtimeOptions, type WorkerSettings } from './worker-settings';

/** The worker's own settings and test seams, provided by its root. */
export const WORKER_SETTINGS = 'keyhold:worker-settings';
export const WORKER_OPTIONS = 'keyhold:worker-options';

export interface WorkerRootOptions {
  /** Environment of the SIEM settings (default config.providerEnv). */
  readonly env?: Record<string, string | undefined>;
  readonly stepHook?: StepHook;
  readonly schedulers?: boolean;
  readonly siem?: Partial<SiemSettings>;
}

type JobsLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
const jobsLog =
  (logger: Logger): JobsLog =>
  (level, msg, fields = {}) =>
    logger[level](fields, msg);

/** Starts the queues' consumers, SIEM delivery and the metrics port; stops them first at shutdown. */
@Injectable()
export class WorkerLifecycle implements OnModuleInit, OnModuleDestroy {
  private server: { url: string; close(): Promise<void> } | undefined;

  constructor(
    readonly runtime: JobsRuntime,
    readonly siem: SiemRuntime,
    readonly metrics: JobMetrics,
    private readonly registry: Registry,
    private readonly ds: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(WORKER_SETTINGS) private readonly settings: WorkerSettings,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  get metricsUrl(): string {
    return this.server?.url ?? '';
  }

  async onModuleInit(): Promise<void> {
    await this.runtime.start();
    // SIEM streaming: the tenants' audit logs to their destinations (docs/ARCHITECTURE.md "SIEM streaming").
    await this.siem.start();
    this.server = await startMetricsServer(
      this.registry,
      this.settings.metricsHost,
      this.settings.metricsPort,
      async () => {
        await this.ds.query('SELECT 1');
        return (await this.redis.ping()) === 'PONG';
      },
    );
    this.log.info({ metrics: this.server.url, queues: this.runtime.queues().map((q) => q.name) }, 'worker started');
  }

  async onModuleDestroy(): Promise<void> {
    // Graceful: stop taking jobs, let running ones reach a checkpoint; the modules below then flush and close.
    for (const step of [() => this.server?.close(), () => this.siem.close(), () => this.runtime.close()])
      await Promise.resolve()
        .then(step)
        .catch((err: unknown) => this.log.warn({ err: String(err) }, 'shutdown step failed'));
  }
}

/**
 * The worker's root: the same configuration, logger, stores, audit and provider modules as the API (with the
 * worker's pool, lock pool and BullMQ-shaped Redis connection), the publish side of the KEK invalidation bus, and
 * the worker's own parts: the JobsRuntime (the queues' consumers), SIEM delivery and job metrics.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: KeyholdConfig, settings: WorkerSettings, options: WorkerRootOptions = {}): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({ name: 'keyhold-worker', level: config.logLevel }),
        PersistenceModule.forRoot({
          applicationName: 'keyhold-worker',
          redis: 'worker',
          // One connection per job that may hold a workspace lock: the KEK-rotation queue, the CMK-rewrap and re-key
          // queues (rewrap concurrency each) and the probe queue (reinstate).
          lockPoolSize:
            settings.concurrency.operations + settings.concurrency.rewraps * 2 + settings.concurrency.probes + 1,
        }),
        AuditModule,
        ProvidersModule,
        KekPublisherModule,
      ],
      providers: [
        { provide: WORKER_SETTINGS, useValue: settings },
        { provide: WORKER_OPTIONS, useValue: options },
        {
          provide: Registry,
          useFactory: () => {
            const registry = new Registry();
            collectDefaultMetrics({ register: registry, prefix: 'keyhold_worker_' });
            return registry;
          },
        },
        {
          provide: JobMetrics,
          inject: [Registry, ProviderCallObserver],
          useFactory: (registry: Registry, observer: ProviderCallObserver) => {
            const metrics = new JobMetrics(registry);
            // Lives as long as the observer (the application): cold unwraps answered by a replica key.
            observer.onFailover((e) =>
              metrics.kmsFailovers.inc({ provider: e.provider, operation: e.operation, from: e.fromClass }),
            );
            return metrics;
          },
        },
        {
          provide: JobsRuntime,
          inject: [
            DataSource,
            getDataSourceToken(LOCKS_DATA_SOURCE),
            REDIS,
            ProviderRegistry,
            AuditLog,
            KekInvalidationBus,
            JobMetrics,
            KEYHOLD_CONFIG,
            LOGGER,
            REPOSITORIES,
          ],
          useFactory: (
            ds: DataSource,
            lockDs: DataSource,
            redis: Redis,
            registry: ProviderRegistry,
            audit: AuditLog,
            bus: KekInvalidationBus,
            metrics: JobMetrics,
            cfg: KeyholdConfig,
            logger: Logger,
            repos: Repositories,
          ) =>
            new JobsRuntime(
              {
                ds,
                lockDs,
                redis,
                providers: { get: (kind) => registry.get(kind) },
                bindTenant: (c: KeyConfig, tenant) =>
                  registry.has(c.provider) ? registry.binding(c.provider).bindTenant(c, tenant) : c,
                crypto: keyCrypto,
                cache: bus,
                audit,
                metrics,
                canaries: canaryTargets(cfg.providerEnv, registry),
                // Bulk operations run the same bind / request-operation use cases as the API, as the requesting admin.
                bulk: (dispatcher) => {
                  const keys: KeysDeps = { repos, registry, audit, dispatcher, kekInvalidator: bus };
                  return new RunBulkOperation(
                    keys,
                    new BindWorkspace(keys),
                    new RequestOperation(keys),
                    (err) => logger.error({ err: errorSummary(err) }, 'bulk operation item failed unexpectedly'),
                    settings.bulkItemConcurrency,
                  );
                },
              },
              runtimeOptions(cfg, settings, {
                log: jobsLog(logger),
                stepHook: options.stepHook,
                schedulers: options.schedulers,
              }),
            ),
        },
        {
          provide: SiemRuntime,
          inject: [DataSource, REDIS, Registry, KEYHOLD_CONFIG, LOGGER],
          useFactory: (ds: DataSource, redis: Redis, registry: Registry, cfg: KeyholdConfig, logger: Logger) =>
            new SiemRuntime(
              { ds, redis, prefix: cfg.redisPrefix, sealingRootKey: cfg.audit.hmacKey, registry, log: jobsLog(logger) },
              loadSiemSettings(options.env ?? cfg.providerEnv, cfg.mode, options.siem),
              { lockDurationMs: settings.lockDurationMs, stalledIntervalMs: settings.stalledIntervalMs },
            ),
        },
        WorkerLifecycle,
      ],
    };
  }
}
