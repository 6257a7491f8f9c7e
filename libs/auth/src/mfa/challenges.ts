import { createHash, randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AuthError } from '../errors';
import type { Role } from '../tokens';
import { MfaError } from './errors';

/** Who passed the password step, and what the second step is for. */
export interface PendingSignIn {
  tid: string;
  sub: string;
  role: Role;
  /** The user's session generation when the password was checked: a change since then voids the challenge. */
  gen: number;
  /** 'verify': prove an enrolled factor; 'enrol': the tenant policy requires a factor the user does not have yet. */
  mode: 'verify' | 'enrol';
}

/** Wrong codes one challenge tolerates before it is dropped (the user starts again from the throttled password step). */
const MAX_ATTEMPTS_PER_CHALLENGE = 5;

/**
 * Short-lived, single-use state of the second step, in Redis (every replica sees it):
 *
 *  - the MFA challenge a password sign-in returns instead of a session: 256 random bits, stored under its SHA-256
 *    (the token itself is nowhere at rest), expiring after `ttlSeconds`, deleted atomically (GETDEL) by the request
 *    that completes the sign-in, so exactly one session comes out of it;
 *  - WebAuthn challenges, one per purpose and owner, consumed by GETDEL when the answer is verified (a replayed
 *    assertion or attestation finds no challenge);
 *  - a per-user budget of wrong codes across all challenges (rate-limiter-flexible), so starting new challenges
 *    does not buy more guesses.
 */
export class MfaChallenges {
  private readonly failures: RateLimiterRedis;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    failuresPerUser = 10,
    failureWindowSeconds = 900,
  ) {
    this.failures = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:mfa:fail`,
      points: failuresPerUser,
      duration: failureWindowSeconds,
    });
  }

  get expiresIn(): number {
    return this.ttlSeconds;
  }

  async create(p: PendingSignIn): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.redis.set(this.key(token), JSON.stringify(p), 'EX', this.ttlSeconds);
    return token;
  }

  /** The pending sign-in of a live challenge, without using it up. */
  async peek(token: string): Promise<PendingSignIn> {
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) throw invalidChallenge();
    const raw = await this.redis.get(this.key(token));
    if (!raw) throw invalidChallenge();
    const p = JSON.parse(raw) as PendingSignIn;
    await this.assertBudget(p.sub);
    return p;
  }

  /** Uses the challenge up; false if another request did first (only one session per challenge). */
  async consume(token: string): Promise<boolean> {
    const key = this.key(token);
    const [[, taken]] = (await this.redis.multi().getdel(key).del(`${key}:wrong`).exec()) as [
      [unknown, string | null],
      unknown,
    ];
    return taken !== null;
  }

  /**
   * A wrong code: counts against the challenge (an atomic counter beside it, so concurrent guesses cannot exceed
   * the allowance; dropped after a few) and against the user's budget.
   */
  async failed(token: string, userId: string): Promise<void> {
    if (token) {
      const key = this.key(token);
      const [[, n]] = (await this.redis
        .multi()
        .incr(`${key}:wrong`)
        .expire(`${key}:wrong`, this.ttlSeconds)
        .exec()) as [[unknown, number], unknown];
      if (n >= MAX_ATTEMPTS_PER_CHALLENGE) await this.redis.del(key, `${key}:wrong`);
    }
    try {
      await this.failures.consume(digest(userId));
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
    }
  }

  /** A wrong code at a signed-in route (enrolment confirmation) spends the same per-user budget. */
  async failedSignedIn(userId: string): Promise<void> {
    await this.failed('', userId);
  }

  async assertBudget(userId: string): Promise<void> {
    const r = await this.failures.get(digest(userId));
    if (r && r.remainingPoints <= 0)
      throw new AuthError(
        'RATE_LIMITED',
        'too many wrong codes; retry later',
        Math.max(1, Math.ceil(r.msBeforeNext / 1000)),
      );
  }

  async resetBudget(userId: string): Promise<void> {
    await this.failures.delete(digest(userId));
  }

  async putWebAuthn(purpose: string, owner: string, challenge: string): Promise<void> {
    await this.redis.set(`${this.prefix}:mfa:webauthn:${purpose}:${digest(owner)}`, challenge, 'EX', this.ttlSeconds);
  }

  async takeWebAuthn(purpose: string, owner: string): Promise<string | null> {
    return this.redis.getdel(`${this.prefix}:mfa:webauthn:${purpose}:${digest(owner)}`);
  }

  private key(token: string): string {
    return `${this.prefix}:mfa:challenge:${digest(token)}`;
  }
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}

function invalidChallenge(): MfaError {
  return new MfaError(
    'MFA_CHALLENGE_INVALID',
    'this sign-in step is no longer valid (used, expired or too many wrong codes); sign in again',
  );
}
