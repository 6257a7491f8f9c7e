import 'reflect-metadata';
import { loadConfig } from '@app/config';
import type { StepHook } from '@app/jobs';
import { startTracing } from '@app/telemetry';
import { startWorker } from './worker';

/**
 * The worker process entry: validated configuration, then the jobs composition root (`startWorker`, which owns
 * the DataSource, the BullMQ Redis connection, the provider bindings and the JobsRuntime). SIGTERM/SIGINT stop
 * taking jobs and close gracefully (BullMQ going-to-production guide), with a hard deadline; a second signal
 * exits at once. Anything left running is taken back by another worker's stalled-job check and re-run: every
 * operation is idempotent.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set: one span per job, KMS calls nested under it.
  const tracing = startTracing({ serviceName: 'keyhold-worker' });
  const worker = await startWorker(config, { stepHook: crashHook(config.mode) });
  process.stdout.write(`keyhold worker started (metrics on ${worker.metricsUrl})\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write(`received ${signal}, worker shutting down\n`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    worker.close().then(
      () => tracing.shutdown().finally(() => process.exit(0)),
      (err: unknown) => {
        process.stderr.write(`unclean worker shutdown: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * Crash-test seam, refused in production mode: KEYHOLD_WORKER_CRASH_AT=<kind>:<step>[:<n>] makes the process
 * SIGKILL itself the n-th time (default: first) an operation of that kind records that step, so recovery tests
 * die "at every step" for real, with no chance to clean up.
 */
function crashHook(mode: string): StepHook | undefined {
  const spec = process.env.KEYHOLD_WORKER_CRASH_AT;
  if (!spec) return undefined;
  if (mode === 'production')
    throw new Error('KEYHOLD_WORKER_CRASH_AT is a test seam and is refused in production mode');
  const [kind, step, nth] = spec.split(':');
  const at = Number(nth ?? 1);
  if (!kind || !step || !Number.isInteger(at) || at < 1)
    throw new Error('KEYHOLD_WORKER_CRASH_AT must be <kind>:<step>[:<n>]');
  let seen = 0;
  return (k, s) => {
    if (k === kind && s === step && ++seen === at) process.kill(process.pid, 'SIGKILL');
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`keyhold-worker failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
