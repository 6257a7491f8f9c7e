import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * Server-side, single-use records of the SSO round trip, in Redis (shared by every API replica):
 *  - a started sign-in, keyed by a hash of its `state`, holding the tenant, the configuration version, the nonce,
 *    the PKCE verifier and a hash of the browser secret kept in an httpOnly cookie. Taken with GETDEL, so a
 *    callback (good or bad) consumes it: a replayed callback finds nothing.
 *  - a finished sign-in waiting for the console to collect its session (same GETDEL discipline, 60 s).
 * Keys hold hashes only, so a Redis reader cannot complete anyone's sign-in.
 */
export interface PendingLogin {
  tenantId: string;
  version: number;
  nonce: string;
  codeVerifier: string;
  browserHash: string;
}

export interface FinishedLogin {
  tenantId: string;
  adminUserId: string;
  email: string;
  browserHash: string;
}

const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest('base64url');

export const newSecret = (): string => randomBytes(32).toString('base64url');
export const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

export function browserMatches(secret: string | undefined, hash: string): boolean {
  if (!secret || !SECRET_RE.test(secret)) return false;
  const a = Buffer.from(digest(secret));
  const b = Buffer.from(hash);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class LoginRecords {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly loginTtlSeconds: number,
    private readonly handoffTtlSeconds = 60,
  ) {}

  browserHash(secret: string): string {
    return digest(secret);
  }

  async savePending(state: string, p: PendingLogin): Promise<void> {
    await this.redis.set(this.key('login', state), JSON.stringify(p), 'EX', this.loginTtlSeconds);
  }

  async takePending(state: string): Promise<PendingLogin | null> {
    if (!SECRET_RE.test(state)) return null;
    const raw = await this.redis.getdel(this.key('login', state));
    return raw ? (JSON.parse(raw) as PendingLogin) : null;
  }

  async saveFinished(handoff: string, f: FinishedLogin): Promise<void> {
    await this.redis.set(this.key('handoff', handoff), JSON.stringify(f), 'EX', this.handoffTtlSeconds);
  }

  async takeFinished(handoff: string): Promise<FinishedLogin | null> {
    if (!SECRET_RE.test(handoff)) return null;
    const raw = await this.redis.getdel(this.key('handoff', handoff));
    return raw ? (JSON.parse(raw) as FinishedLogin) : null;
  }

  private key(kind: string, secret: string): string {
    return `${this.prefix}:sso:${kind}:${digest(secret)}`;
  }
}
