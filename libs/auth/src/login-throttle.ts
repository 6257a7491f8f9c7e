import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AuthError } from './errors';

export interface LoginThrottleLimits {
  /** Every token request of one client address (after trusted-proxy resolution), per minute. */
  perIpPerMinute: number;
  /** Failed attempts against one account from all addresses together, per minute, before the account-wide delay. */
  perAccountPerMinute: number;
  /** Failures one (account, address) pair gets before it is delayed. */
  freeFailures?: number;
  /** Longest single delay, seconds. */
  maxDelaySeconds?: number;
}

/**
 * Brute-force protection for the token endpoint, in Redis (shared by every replica) through rate-limiter-flexible.
 *
 *  - per address: a plain request budget (stops one source from spraying many accounts);
 *  - per (account, address): after `freeFailures` failures, an exponential delay (2 s, 4 s, 8 s … up to
 *    `maxDelaySeconds`) during which that pair is refused without any password work — even with the right
 *    password, so a delayed guesser cannot learn which guess was right;
 *  - per account: a looser failure budget across all addresses (a distributed guesser), with its own exponential
 *    delay — which does NOT apply to an address that has signed in to this account successfully before (a
 *    known-good address, remembered 30 days). An outsider can therefore slow the account for new addresses, but
 *    cannot hold its owner out: the owner's usual address keeps its own budget, which only the owner's own
 *    failures spend.
 *
 * Trade-off: a guesser who shares the owner's address (same NAT) shares that pair's delay; the delays are short
 * and exponential rather than a fixed lockout, so the owner waits seconds to minutes, never indefinitely.
 */
export class LoginThrottle {
  private readonly ip: RateLimiterRedis;
  private readonly pairFailures: RateLimiterRedis;
  private readonly pairDelay: RateLimiterRedis;
  private readonly accountFailures: RateLimiterRedis;
  private readonly accountStrikes: RateLimiterRedis;
  private readonly accountDelay: RateLimiterRedis;
  private readonly knownGood: RateLimiterRedis;
  private readonly freeFailures: number;
  private readonly maxDelaySeconds: number;

  constructor(redis: Redis, prefix: string, limits: LoginThrottleLimits) {
    const make = (name: string, points: number, duration: number) =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:login:${name}`, points, duration });
    this.freeFailures = limits.freeFailures ?? 5;
    this.maxDelaySeconds = limits.maxDelaySeconds ?? 900;
    this.ip = make('ip', limits.perIpPerMinute, 60);
    this.pairFailures = make('pair-fail', 1_000_000, 3600);
    this.pairDelay = make('pair-delay', 1, 1);
    this.accountFailures = make('acct-fail', limits.perAccountPerMinute, 60);
    this.accountStrikes = make('acct-strike', 1_000_000, 3600);
    this.accountDelay = make('acct-delay', 1, 1);
    this.knownGood = make('known', 1_000_000, 30 * 86400);
  }

  /**
   * The per-address budget alone, for the other unauthenticated credential routes (invitation lookup and
   * acceptance, password-reset request and completion): one source cannot spray them.
   */
  async address(address: string): Promise<void> {
    try {
      await this.ip.consume(address);
    } catch (err) {
      throw limited(err);
    }
  }

  /** Before any password work. Throws RATE_LIMITED with Retry-After when this attempt must wait. */
  async before(accountName: string, address: string): Promise<void> {
    await this.address(address);
    const [account, pair] = keys(accountName, address);
    const wait = await blockedMs(this.pairDelay, pair);
    if (wait > 0) throw limitedFor(wait);
    const accountWait = await blockedMs(this.accountDelay, account);
    if (accountWait > 0 && !(await this.knownGood.get(pair))) throw limitedFor(accountWait);
  }

  async failed(accountName: string, address: string): Promise<void> {
    const [account, pair] = keys(accountName, address);
    const n = (await this.pairFailures.penalty(pair)).consumedPoints;
    if (n >= this.freeFailures) await this.pairDelay.block(pair, this.delay(n - this.freeFailures + 1));
    try {
      await this.accountFailures.consume(account);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const strikes = (await this.accountStrikes.penalty(account)).consumedPoints;
      await this.accountDelay.block(account, this.delay(strikes));
    }
  }

  async succeeded(accountName: string, address: string): Promise<void> {
    const [, pair] = keys(accountName, address);
    await Promise.all([
      this.pairFailures.delete(pair),
      this.pairDelay.delete(pair),
      this.knownGood.set(pair, 1, 30 * 86400),
    ]);
  }

  private delay(step: number): number {
    return Math.min(this.maxDelaySeconds, 2 ** Math.min(step, 20));
  }
}

/** Redis keys name accounts by digest: no email address or tenant id sits in Redis for the 30-day memory. */
function keys(account: string, address: string): [string, string] {
  const digest = (s: string) => createHash('sha256').update(s).digest('base64url');
  return [digest(account), digest(`${account}\n${address}`)];
}

async function blockedMs(limiter: RateLimiterRedis, key: string): Promise<number> {
  const r = await limiter.get(key);
  return r && r.consumedPoints > 1 ? Math.max(1, r.msBeforeNext) : 0;
}

function limitedFor(ms: number): AuthError {
  return new AuthError('RATE_LIMITED', 'too many token requests; retry later', Math.max(1, Math.ceil(ms / 1000)));
}

function limited(err: unknown): AuthError {
  if (err instanceof RateLimiterRes) return limitedFor(err.msBeforeNext);
  throw err;
}
