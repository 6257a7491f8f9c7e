import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError } from './errors';

/**
 * Short-lived HS256 JWT access tokens. Two audiences keep the APIs apart: `keyhold-admin` (key admins,
 * auditors) and `keyhold-internal` (service principals, DEK API). A token for one is refused by the other.
 */
export const ADMIN_AUDIENCE = 'keyhold-admin';
export const INTERNAL_AUDIENCE = 'keyhold-internal';
export const ISSUER = 'keyhold';

export type Role = 'key_admin' | 'auditor' | 'service';

export interface AccessClaims {
  readonly iss: string;
  readonly aud: typeof ADMIN_AUDIENCE | typeof INTERNAL_AUDIENCE;
  /** Tenant id: the only source of tenant scope. */
  readonly tid: string;
  /** Admin user id or service principal id. */
  readonly sub: string;
  readonly role: Role;
  /** Admin tokens: the user's session generation at issue; a later change to the user revokes the token. */
  readonly gen?: number;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** Service tokens: the id of the client secret they were issued for (they stop when it is revoked or expires). */
  readonly sid?: string;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export class TokenSigner {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    if (Buffer.byteLength(secret) < 32) throw new Error('token secret must be at least 32 bytes');
    this.key = Buffer.from(secret, 'utf8');
  }

  sign(c: { tid: string; sub: string; role: Role; sid?: string; gen?: number }, now = Date.now()): { token: string; expiresIn: number; claims: AccessClaims } {
    const iat = Math.floor(now / 1000);
    const claims: AccessClaims = {
      iss: ISSUER,
      aud: c.role === 'service' ? INTERNAL_AUDIENCE : ADMIN_AUDIENCE,
      tid: c.tid,
      sub: c.sub,
      role: c.role,
      ...(c.gen !== undefined ? { gen: c.gen } : {}),
      iat,
      exp: iat + this.ttlSeconds,
      jti: randomBytes(12).toString('base64url'),
      ...(c.sid !== undefined ? { sid: c.sid } : {}),
    };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const sig = createHmac('sha256', this.key).update(`${HEADER}.${payload}`).digest('base64url');
    return { token: `${HEADER}.${payload}.${sig}`, expiresIn: this.ttlSeconds, claims };
  }

  /** Verifies signature (constant time), header, issuer, audience and expiry. Throws AuthError UNAUTHENTICATED. */
  verify(token: string, audience: AccessClaims['aud'], now = Date.now()): AccessClaims {
    const bad = (why: string) => new AuthError('UNAUTHENTICATED', `invalid access token: ${why}`);
    if (typeof token !== 'string' || token.length > 4096) throw bad('malformed');
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) throw bad('malformed');
    const expected = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw bad('bad signature');
    let claims: AccessClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as AccessClaims;
    } catch {
      throw bad('malformed');
    }
    if (claims.iss !== ISSUER) throw bad('wrong issuer');
    if (claims.aud !== audience) throw bad('wrong audience');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) throw bad('expired');
    if (typeof claims.tid !== 'string' || typeof claims.sub !== 'string') throw bad('malformed');
    if (audience === INTERNAL_AUDIENCE ? claims.role !== 'service' : claims.role !== 'key_admin' && claims.role !== 'auditor')
      throw bad('wrong role for this API');
    return claims;
  }
}

/** Constant-time comparison of the operator bearer token (hash both sides so lengths do not leak). */
export function operatorTokenMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = createHmac('sha256', 'keyhold/operator').update(given).digest();
  const b = createHmac('sha256', 'keyhold/operator').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `Authorization: Bearer <token>` → token, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header.trim());
  return m?.[1];
}
