/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the delay for
 * attempt n is uniform in [0, min(cap, base * 2^n)]. Full jitter spreads the retries of many workers that failed
 * together (a throttled customer KMS, a Redis blip) instead of re-synchronising them into the next burst.
 */
export interface BackoffPolicy {
  /** Delay scale for the first retry, in ms. */
  readonly baseMs: number;
  /** Upper bound of any single delay, in ms. */
  readonly capMs: number;
  /** Lower bound, so a retry never spins (ms). */
  readonly floorMs?: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, capMs: 30_000, floorMs: 10 };

/**
 * @param attempt 0 for the first retry, 1 for the second, ...
 * @param random injectable for deterministic specs; must return a number in [0, 1).
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(attempt) || attempt < 0)
    throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  if (!(policy.baseMs > 0) || !(policy.capMs >= policy.baseMs)) {
    throw new RangeError(`backoff policy needs 0 < baseMs <= capMs, got baseMs=${policy.baseMs} capMs=${policy.capMs}`);
  }
  // 2^attempt overflows to Infinity for large attempts; min() keeps it finite.
  const ceiling = Math.min(policy.capMs, policy.baseMs * Math.pow(2, Math.min(attempt, 52)));
  return Math.max(policy.floorMs ?? 0, Math.floor(random() * ceiling));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with the abort reason, as AbortSignal-aware APIs do
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const onAbort = (): void => {
      clearTimeout(timer);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- (as above)
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
