import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError, ErrorCode } from './errors';

/**
 * The per-service-principal DEK *creation* rate, one budget shared by every API replica (rate-limiter-flexible
 * over the API's ioredis client: one atomic Redis round trip per creating request). Fetching a DEK that exists
 * never reaches this. If Redis is unreachable the library's insurance limiter takes over with a per-replica
 * budget of the same size, so creations stay limited (never unlimited) during an outage.
 */
export class DekCreationLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, prefix: string, perMinute: number) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:dek-create`,
      points: perMinute,
      duration: 60,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points: perMinute, duration: 60 }),
    });
  }

  /**
   * Charges `n` creations to the principal or throws 429 DEK_CREATE_RATE_LIMITED. A refused charge is given back:
   * only creations that happen count.
   */
  async charge(principalId: string, n: number): Promise<void> {
    if (n > this.limiter.points) throw this.refusal(60_000);
    try {
      await this.limiter.consume(principalId, n);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      await this.limiter.reward(principalId, n).catch(() => undefined);
      throw this.refusal(err.msBeforeNext);
    }
  }

  private refusal(msBeforeNext: number): DomainError {
    return new DomainError(
      ErrorCode.DekCreateRateLimited,
      'this service principal created too many new DEKs; existing DEKs are still served',
      Math.max(1, Math.ceil(msBeforeNext / 1000)),
    );
  }
}
