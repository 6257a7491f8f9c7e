import Redis from 'ioredis';
import pino from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { AuditBuffer, AuditKeys, AuditLog, auditProviderCalls, AuditSealer } from '@app/audit';
import type { KeyholdConfig } from '@app/config';
import { keyCrypto } from '@app/crypto';
import { JobMetrics, JobsRuntime, SiemRuntime, StepHook } from '@app/jobs';
import { loadSiemSettings, SiemSettings } from '@app/siem';
import { KekCache, KekInvalidationBus } from '@app/kek-cache';
import { canaryTargets } from './vendor-canaries';
import { ProviderRegistry } from '@app/keys';
import { createDataSource } from '@app/persistence';
import { ProviderCallObserver } from '@app/provider-port';
import type { KeyConfig } from '@app/provider-port';
import { startMetricsServer } from './metrics-server';
import { loadWorkerSettings, runtimeOptions, WorkerSettings } from './worker-settings';

export interface StartWorkerOptions {
  /** Overrides of the worker settings otherwise read from the environment (tests: port 0, short locks). */
  readonly settings?: Partial<WorkerSettings>;
  /** Environment for worker settings; defaults to config.providerEnv. */
  readonly env?: Record<string, string | undefined>;
  /** Test seam: runs after each operation step is recorded. */
  readonly stepHook?: StepHook;
  /** Run the schedulers from this worker (default true). */
  readonly schedulers?: boolean;
  /** Overrides of the SIEM delivery settings otherwise read from KEYHOLD_SIEM_* (tests: short backoff). */
  readonly siem?: Partial<SiemSettings>;
}

export interface RunningWorker {
  readonly runtime: JobsRuntime;
  readonly siem: SiemRuntime;
  readonly metricsUrl: string;
  readonly metrics: JobMetrics;
  /** Graceful: stop taking jobs, let running ones reach a checkpoint, close connections. */
  close(): Promise<void>;
}

/**
 * Composition root of the worker: one DataSource, one Redis connection for BullMQ (maxRetriesPerRequest: null,
 * as BullMQ requires for workers), the provider bindings built once, the audit log (provider calls included),
 * the KEK-cache invalidation bus (publish side only: the worker holds no plaintext KEK cache of its own), job
 * metrics on a small HTTP port, and the JobsRuntime.
 */
export async function startWorker(config: KeyholdConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const settings = loadWorkerSettings(options.env ?? config.providerEnv, options.settings);
  const logger = pino({
    level: config.logLevel,
    base: { service: 'keyhold-worker' },
    redact: { paths: ['*.kek', '*.dek', '*.plaintext', '*.secret', '*.token', '*.authorization'], censor: '[redacted]' },
  });
  const log = (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}) => logger[level](fields, msg);

  const ds = createDataSource(config.databaseUrl, { poolSize: config.databasePoolSize, applicationName: 'keyhold-worker' });
  await ds.initialize();
  // One connection per job that may hold a workspace lock: the KEK-rotation queue, the CMK-rewrap and re-key queues
  // (rewrap concurrency each) and the probe queue (reinstate).
  const lockDs = createDataSource(config.databaseUrl, {
    poolSize: settings.concurrency.operations + settings.concurrency.rewraps * 2 + settings.concurrency.probes + 1,
    applicationName: 'keyhold-worker-locks',
  });
  await lockDs.initialize();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  const closers: Array<() => Promise<unknown>> = [() => ds.destroy(), () => lockDs.destroy(), () => redis.quit().catch(() => redis.disconnect())];
  try {
    const observer = new ProviderCallObserver();
    const audit = new AuditLog(ds, new AuditKeys(config.audit), { checkpointIntervalSeconds: config.audit.checkpointIntervalSeconds });
    const sealer = new AuditSealer(audit, config.audit.checkpointIntervalSeconds * 1000, (tenantId, err) =>
      log('error', 'audit checkpoint refused or failed', { tenantId, err: String(err) }),
    );
    sealer.start();
    closers.unshift(() => sealer.stop());
    const auditBuffer = new AuditBuffer(audit, 250, (err) => log('warn', 'audit flush failed', { err: String(err) }));
    const unsubscribe = auditProviderCalls(observer, auditBuffer);
    closers.unshift(async () => {
      unsubscribe();
      await auditBuffer.flush();
    });
    const registry = ProviderRegistry.fromEnv(config.providerEnv, observer);
    closers.unshift(() => registry.close());
    for (const [kind, why] of registry.unavailable) log('warn', 'provider not available to the worker', { provider: kind, reason: why });

    // Publish-only use of the invalidation bus: never started (no subscription, no poll), its own cache stays empty.
    const bus = new KekInvalidationBus(new KekCache({ ttlMs: 1_000, maxEntries: 1 }), redis, redis, config.redisPrefix, async () => new Map(), 60_000);

    const promRegistry = new Registry();
    collectDefaultMetrics({ register: promRegistry, prefix: 'keyhold_worker_' });
    const metrics = new JobMetrics(promRegistry);

    const runtime = new JobsRuntime(
      {
        ds,
        lockDs,
        redis,
        providers: { get: (kind) => registry.get(kind) },
        bindTenant: (cfg: KeyConfig, tenant) => (registry.has(cfg.provider) ? registry.binding(cfg.provider).bindTenant(cfg, tenant) : cfg),
        crypto: keyCrypto,
        cache: bus,
        audit,
        metrics,
        canaries: canaryTargets(config.providerEnv, registry),
      },
      runtimeOptions(config, settings, { log, stepHook: options.stepHook, schedulers: options.schedulers }),
    );
    closers.unshift(() => runtime.close());
    await runtime.start();

    // SIEM streaming: the tenants' audit logs to their destinations (docs/ARCHITECTURE.md "SIEM streaming").
    const siem = new SiemRuntime(
      { ds, redis, prefix: config.redisPrefix, sealingRootKey: config.audit.hmacKey, registry: promRegistry, log },
      loadSiemSettings(options.env ?? config.providerEnv, config.mode, options.siem),
      { lockDurationMs: settings.lockDurationMs, stalledIntervalMs: settings.stalledIntervalMs },
    );
    closers.unshift(() => siem.close());
    await siem.start();

    const server = await startMetricsServer(promRegistry, settings.metricsHost, settings.metricsPort, async () => {
      await ds.query('SELECT 1');
      return (await redis.ping()) === 'PONG';
    });
    closers.unshift(() => server.close());
    log('info', 'worker started', { metrics: server.url, queues: runtime.queues().map((q) => q.name) });

    let closed = false;
    return {
      runtime,
      siem,
      metrics,
      metricsUrl: server.url,
      async close() {
        if (closed) return;
        closed = true;
        for (const c of closers) await c().catch((err: unknown) => log('warn', 'shutdown step failed', { err: String(err) }));
      },
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => undefined);
    throw err;
  }
}
