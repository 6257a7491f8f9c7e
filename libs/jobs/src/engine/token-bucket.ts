import type Redis from 'ioredis';
import { sleep } from './backoff';

/**
 * A token bucket shared by every worker through Redis. Customer KMS quotas are shared with the customer's own
 * workloads, so Keyhold must pace itself per provider (our account-wide quota) and per key
 * configuration (the customer's quota), whatever the number of worker replicas.
 *
 * One Lua script takes a token from every named bucket atomically, or from none: a call never half-consumes
 * (provider token taken, configuration bucket empty) and starves a neighbour. The clock is Redis TIME so replicas
 * with skewed clocks agree.
 */
const TAKE_ALL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local tokens = {}
local wait = 0
for i = 1, n do
  local rate = tonumber(ARGV[(i - 1) * 2 + 1])
  local burst = tonumber(ARGV[(i - 1) * 2 + 2])
  local data = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local have = tonumber(data[1]) or burst
  local ts = tonumber(data[2]) or now
  if now > ts then have = math.min(burst, have + (now - ts) * rate / 1000) end
  tokens[i] = have
  if have < 1 then
    local w = math.ceil((1 - have) * 1000 / rate)
    if w > wait then wait = w end
  end
end
for i = 1, n do
  local rate = tonumber(ARGV[(i - 1) * 2 + 1])
  local burst = tonumber(ARGV[(i - 1) * 2 + 2])
  local left = tokens[i]
  if wait == 0 then left = left - 1 end
  redis.call('HSET', KEYS[i], 'tokens', tostring(left), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst * 1000 / rate) + 60000)
end
return wait
`;

export interface BucketSpec {
  /** Bucket name below the prefix, e.g. `provider:aws` or `keycfg:<uuid>`. */
  readonly name: string;
  /** Sustained rate, calls per second. */
  readonly ratePerSec: number;
  /** Calls allowed in a burst after idling. */
  readonly burst: number;
}

export class RedisTokenBucket {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {
    redis.defineCommand('keyholdTakeTokens', { lua: TAKE_ALL });
  }

  /** Try once: 0 when a token was taken from every bucket, else the ms to wait before trying again. */
  async tryTake(buckets: readonly BucketSpec[]): Promise<number> {
    if (buckets.length === 0) return 0;
    const keys: string[] = [];
    const args: number[] = [];
    for (const b of buckets) {
      if (!(b.ratePerSec > 0) || !(b.burst >= 1)) {
        throw new RangeError(
          `rate limit for ${b.name} needs ratePerSec > 0 and burst >= 1, got ${b.ratePerSec}/${b.burst}`,
        );
      }
      keys.push(`${this.keyPrefix}:ratelimit:${b.name}`);
      args.push(b.ratePerSec, b.burst);
    }
    const cmd = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>).keyholdTakeTokens;
    return Number(await cmd.call(this.redis, keys.length, ...keys, ...args));
  }

  /** Wait until a token is available in every bucket (throttling slows work down, it never fails it). */
  async take(buckets: readonly BucketSpec[], signal?: AbortSignal): Promise<void> {
    for (;;) {
      const waitMs = await this.tryTake(buckets);
      if (waitMs === 0) return;
      // A little jitter so replicas that waited together do not all retry on the same millisecond.
      await sleep(waitMs + Math.floor(Math.random() * Math.min(50, waitMs)), signal);
    }
  }
}
