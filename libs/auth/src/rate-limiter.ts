import type Redis from 'ioredis';

/**
 * Fixed-window counters in Redis (shared by every replica): INCR, and PEXPIRE on the first hit of a window.
 * Returns the seconds to wait when over the limit.
 */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(bucket: string, limit: number, windowMs = 60_000): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
    const window = Math.floor(Date.now() / windowMs);
    const key = `${this.prefix}:ratelimit:${bucket}:${window}`;
    const [[, count], [, ttl]] = (await this.redis.multi().incr(key).pexpire(key, windowMs, 'NX').pttl(key).exec()) as [
      [unknown, number],
      [unknown, number],
      [unknown, number],
    ];
    void ttl;
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - Date.now()) / 1000));
    return { allowed: count <= limit, retryAfterSeconds };
  }
}
