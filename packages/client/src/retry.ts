/**
 * When to try again: the server's Retry-After (seconds or an HTTP date) is a floor, and full jitter —
 * uniform in [0, min(cap, base·2^attempt)] — is added on top so that a fleet of clients refused together does
 * not come back together. A wait that would pass the caller's deadline is not taken.
 */
export interface RetryPolicy {
  /** Total time budget for one call, retries included (ms). Default 10 000. */
  deadlineMs: number;
  /** First backoff step (ms). Default 100. */
  baseMs: number;
  /** Largest jitter window (ms). Default 2 000. */
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { deadlineMs: 10_000, baseMs: 100, capMs: 2_000 };

export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v), 3600) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - now, 3_600_000));
}

export function backoffMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const window = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 20));
  return (retryAfterMs ?? 0) + Math.floor(random() * window);
}

/** A timer that does not keep the process alive, and ends early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    t.unref?.();
    signal?.addEventListener('abort', done, { once: true });
  });
}
