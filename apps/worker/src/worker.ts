import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { KeyholdConfig } from '@app/config';
import type { JobMetrics, JobsRuntime, SiemRuntime, StepHook } from '@app/jobs';
import type { SiemSettings } from '@app/siem';
import { WorkerLifecycle, WorkerModule } from './worker.module';
import { loadWorkerSettings, WorkerSettings } from './worker-settings';

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
  /** The worker's Nest application context (tests inspect its module graph). */
  readonly app: INestApplicationContext;
  /** Graceful: stop taking jobs, let running ones reach a checkpoint, close connections. */
  close(): Promise<void>;
}

/**
 * Starts the worker: a Nest application context over WorkerModule (the same configuration, logger, stores, audit
 * and provider modules as the API; see docs/ARCHITECTURE.md), whose lifecycle starts the JobsRuntime, SIEM
 * delivery and the metrics port, and at close stops them before the audit flush and the stores.
 */
export async function startWorker(config: KeyholdConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const settings = loadWorkerSettings(options.env ?? config.providerEnv, options.settings);
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot(config, settings, {
      env: options.env,
      stepHook: options.stepHook,
      schedulers: options.schedulers,
      siem: options.siem,
    }),
    { logger: false, abortOnError: false },
  );
  try {
    await app.init();
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  const worker = app.get(WorkerLifecycle);
  let closed = false;
  return {
    runtime: worker.runtime,
    siem: worker.siem,
    metrics: worker.metrics,
    metricsUrl: worker.metricsUrl,
    app,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
