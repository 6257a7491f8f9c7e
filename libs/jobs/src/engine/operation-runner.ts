import { inSpan } from '@app/telemetry';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import type { DataSource } from 'typeorm';
import { HeldLock, type OperationRepository, type OperationRow } from '@app/persistence';
import { ProviderError } from '@app/provider-port';
import type { JobMetrics } from '../observability/job-metrics';
import { OperationFailure, WorkspaceBusy } from '../operations/operation-errors';
import { backoffDelay, BackoffPolicy } from './backoff';
import type { HandlerRegistry } from './handler-registry';
import type { HandlerResult, OperationContext, StepHook } from './operation-handler';

/** Job payload: ids only (no key material ever reaches Redis). `parks` counts backoff delays, nothing secret. */
export interface OperationJobData {
  readonly operationId: string;
  readonly tenantId: string;
  readonly parks?: number;
}

export interface RunnerOptions {
  /** Backoff when a provider stays transiently unavailable (throttled, 5xx, timeouts). */
  readonly transientBackoff: BackoffPolicy;
  /** How often a running job refreshes its operation row (so the reconciler can tell slow from lost). */
  readonly heartbeatMs: number;
  /** Retry delay when another worker holds the workspace. */
  readonly busyDelayMs: number;
  readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  readonly stepHook?: StepHook;
  /**
   * A rotation failed because the key service said "no" definitively: ask for a revocation check (the probes
   * decide; a failed job never shreds anything by itself).
   */
  readonly onRevocationSignal?: (op: OperationRow, errorClass: string) => Promise<void>;
}

/**
 * The one BullMQ processor for every operation kind: a thin shell that turns a job into "run this operation
 * row's use case", and maps how it ended onto BullMQ:
 *  - done → row succeeded;
 *  - OperationFailure or a non-transient ProviderError → row failed, UnrecoverableError (no pointless retries);
 *  - transient ProviderError (after the gate's in-place retries) or "wait" → row stays running, job parked in
 *    the delayed set with exponential backoff + jitter; throttling slows an operation, it never fails it;
 *  - anything else (database down, bug) → rethrown for BullMQ's own attempts; the row is failed on the last one.
 */
export class OperationRunner {
  constructor(
    /** Pool the workspace advisory locks are held on (one connection per running job). */
    private readonly lockDs: DataSource,
    private readonly operations: OperationRepository,
    private readonly handlers: HandlerRegistry,
    private readonly metrics: JobMetrics,
    private readonly options: RunnerOptions,
    private readonly shutdown: AbortSignal,
  ) {}

  /** One span per job execution (a parked job is not an error: it will run again). */
  process(job: Job<OperationJobData>, token: string | undefined): Promise<void> {
    return inSpan(
      `job ${job.name}`,
      {
        'keyhold.operation_id': job.data.operationId,
        'keyhold.tenant_id': job.data.tenantId,
        'keyhold.job.attempt': job.attemptsMade,
      },
      () => this.run(job, token),
      (err) => (err instanceof DelayedError ? 'parked' : err instanceof Error ? err.name : 'error'),
    );
  }

  private async run(job: Job<OperationJobData>, token: string | undefined): Promise<void> {
    const started = process.hrtime.bigint();
    const { operationId, tenantId } = job.data;
    let kind = job.name;
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;

    const op = await this.operations.begin(tenantId, operationId);
    if (!op) {
      // Finished already (duplicate delivery, reconciler race) or unknown: nothing to do, by design.
      this.metrics.observe(kind, 'skipped', seconds());
      return;
    }
    kind = op.kind;
    const handler = this.handlers.get(op.kind);
    if (!handler) {
      await this.operations.fail(tenantId, operationId, `no handler for operation kind ${op.kind}`);
      this.metrics.observe(kind, 'failed', seconds());
      throw new UnrecoverableError(`no handler for operation kind ${op.kind}`);
    }

    const lockKey = handler.lockKey(op);
    const lock = lockKey ? await HeldLock.tryAcquire(this.lockDs, lockKey) : null;
    if (lockKey && !lock)
      return this.park(
        job,
        token,
        this.options.busyDelayMs,
        'another worker is running an operation on this workspace',
        kind,
        seconds,
      );

    const heartbeat = setInterval(
      () => void this.operations.touch(tenantId, operationId).catch(() => undefined),
      this.options.heartbeatMs,
    );
    heartbeat.unref();
    const ctx: OperationContext = {
      op,
      signal: this.shutdown,
      step: async (name, params) => {
        await this.operations.recordStep(tenantId, operationId, name, params);
        if (this.options.stepHook) await this.options.stepHook(op.kind, name, op);
      },
      reached: async (name) => {
        if (this.options.stepHook) await this.options.stepHook(op.kind, name, op);
      },
    };
    let result: HandlerResult;
    try {
      result = await handler.execute(ctx);
    } catch (err) {
      return await this.onError(err, job, token, kind, seconds, op);
    } finally {
      clearInterval(heartbeat);
      await lock?.release().catch(() => undefined);
    }

    if (result.kind === 'wait') {
      await this.operations.noteWaiting(tenantId, operationId, result.reason);
      return this.park(job, token, result.delayMs, result.reason, kind, seconds, false);
    }
    await this.operations.succeed(tenantId, operationId, result.result ?? {});
    this.metrics.observe(kind, 'succeeded', seconds());
    this.options.log('info', 'operation succeeded', { operationId, tenantId, kind });
  }

  private async onError(
    err: unknown,
    job: Job<OperationJobData>,
    token: string | undefined,
    kind: string,
    seconds: () => number,
    op: OperationRow,
  ): Promise<void> {
    const { operationId, tenantId } = job.data;
    if (err instanceof DelayedError) throw err;
    // Graceful shutdown interrupted the job: hand it back at once, without spending an attempt.
    if (this.shutdown.aborted) return this.park(job, token, 1, 'worker shutting down', kind, seconds, false);
    if (err instanceof WorkspaceBusy)
      return this.park(job, token, this.options.busyDelayMs, err.message, kind, seconds);
    if (err instanceof ProviderError && err.transient) {
      const parks = job.data.parks ?? 0;
      const reason = `waiting for the key service (${err.errorClass} on ${err.operation}); retrying with backoff`;
      await this.operations.noteWaiting(tenantId, operationId, reason);
      return this.park(job, token, backoffDelay(parks, this.options.transientBackoff), reason, kind, seconds);
    }
    if (err instanceof OperationFailure || err instanceof ProviderError) {
      const message =
        err instanceof ProviderError
          ? `${err.provider} ${err.operation} failed: ${err.errorClass} (${err.providerCode})`
          : err.message;
      // The revocation check is requested before the failure is recorded: whoever sees this operation failed with a
      // revocation-class error also finds the check that will decide what it means.
      if (
        err instanceof ProviderError &&
        err.revocationCandidate &&
        op.kind !== 'revocation-check' &&
        this.options.onRevocationSignal
      ) {
        await this.options
          .onRevocationSignal(op, err.errorClass)
          .catch((e: unknown) =>
            this.options.log('warn', 'could not request a revocation check', { operationId, err: String(e) }),
          );
      }
      await this.operations.fail(tenantId, operationId, message);
      this.metrics.observe(kind, 'failed', seconds());
      this.options.log('warn', 'operation failed', {
        operationId,
        tenantId,
        kind,
        code: err instanceof OperationFailure ? err.code : err.errorClass,
      });
      throw new UnrecoverableError(message);
    }
    // Unexpected: let BullMQ retry per the job's attempts; fail the row on the last attempt so it does not hang.
    const attempts = job.opts.attempts ?? 1;
    const last = job.attemptsMade + 1 >= attempts;
    const message = err instanceof Error ? err.message : String(err);
    if (last) await this.operations.fail(tenantId, operationId, `internal error: ${message}`).catch(() => undefined);
    else
      await this.operations
        .noteWaiting(tenantId, operationId, `internal error, retrying: ${message}`)
        .catch(() => undefined);
    this.metrics.observe(kind, last ? 'failed' : 'retried', seconds());
    this.options.log('error', 'operation error', { operationId, tenantId, kind, err: message });
    throw err;
  }

  private async park(
    job: Job<OperationJobData>,
    token: string | undefined,
    delayMs: number,
    reason: string,
    kind: string,
    seconds: () => number,
    countPark = true,
  ): Promise<never> {
    if (countPark) await job.updateData({ ...job.data, parks: (job.data.parks ?? 0) + 1 });
    else if (job.data.parks) await job.updateData({ ...job.data, parks: 0 });
    await job.moveToDelayed(Date.now() + Math.max(1, Math.round(delayMs)), token);
    this.metrics.observe(kind, 'parked', seconds());
    this.options.log('info', 'operation parked', {
      operationId: job.data.operationId,
      kind,
      delayMs: Math.round(delayMs),
      reason,
    });
    throw new DelayedError();
  }
}
