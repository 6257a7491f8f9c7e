import { ProviderError } from '@app/provider-port';
import { backoffDelay, BackoffPolicy, sleep } from './backoff';
import type { BucketSpec, RedisTokenBucket } from './token-bucket';

export interface ProviderRateLimits {
  /** Calls per second Keyhold allows itself against one cloud provider, across all replicas. */
  readonly perProviderPerSec: number;
  /** Calls per second against one customer key configuration (the customer's quota is shared with them). */
  readonly perKeyConfigurationPerSec: number;
}

export const DEFAULT_RATE_LIMITS: ProviderRateLimits = { perProviderPerSec: 200, perKeyConfigurationPerSec: 20 };

export interface GateScope {
  readonly provider: string;
  readonly keyConfigurationId: string;
}

/**
 * The one way job code calls a customer KMS: paced by the shared token buckets, transient failures (throttled,
 * unavailable) retried in place with exponential backoff and full jitter. A transient failure that outlasts the
 * in-place budget is rethrown unchanged; the processor then parks the job (delayed, not failed) so throttling
 * slows an operation down and never fails it. Every other failure is rethrown at once: retrying an AccessDenied
 * only burns the customer's quota.
 */
export class ProviderGate {
  constructor(
    private readonly buckets: RedisTokenBucket,
    private readonly limits: ProviderRateLimits = DEFAULT_RATE_LIMITS,
    private readonly backoff: BackoffPolicy = { baseMs: 100, capMs: 2_000, floorMs: 10 },
    private readonly inPlaceAttempts = 4,
  ) {}

  async call<T>(scope: GateScope, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const specs = this.bucketsFor(scope);
    for (let attempt = 0; ; attempt++) {
      await this.buckets.take(specs, signal);
      try {
        return await fn();
      } catch (err) {
        const transient = err instanceof ProviderError && err.transient;
        if (!transient || attempt + 1 >= this.inPlaceAttempts) throw err;
        await sleep(backoffDelay(attempt, this.backoff), signal);
      }
    }
  }

  private bucketsFor(scope: GateScope): BucketSpec[] {
    const p = this.limits.perProviderPerSec;
    const k = this.limits.perKeyConfigurationPerSec;
    return [
      { name: `provider:${scope.provider}`, ratePerSec: p, burst: Math.max(1, Math.ceil(p)) },
      { name: `keycfg:${scope.keyConfigurationId}`, ratePerSec: k, burst: Math.max(1, Math.ceil(k)) },
    ];
  }
}
