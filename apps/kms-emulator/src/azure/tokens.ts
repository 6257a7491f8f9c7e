import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Entra-style access tokens issued by the emulator's token endpoint and checked by its vault: a JWT-shaped
 * HS256 token signed with a per-process secret, carrying tenant (tid), app id (appid), audience and expiry.
 */
export interface TokenClaims {
  tid: string;
  appid: string;
  aud: string;
  iat: number;
  exp: number;
}

export class TokenIssuer {
  private readonly secret = randomBytes(32);

  constructor(private readonly lifetimeSeconds = 3600) {}

  issue(
    tid: string,
    appid: string,
    aud: string,
    now = Math.floor(Date.now() / 1000),
  ): { token: string; expiresIn: number } {
    const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const claims: TokenClaims = { tid, appid, aud, iat: now, exp: now + this.lifetimeSeconds };
    const payload = b64(JSON.stringify(claims));
    return { token: `${header}.${payload}.${this.sign(`${header}.${payload}`)}`, expiresIn: this.lifetimeSeconds };
  }

  /** The claims of a genuine, unexpired token, or why not. */
  verify(
    token: string,
    now = Math.floor(Date.now() / 1000),
  ): { ok: true; claims: TokenClaims } | { ok: false; reason: 'invalid' | 'expired' } {
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'invalid' };
    const expected = Buffer.from(this.sign(`${parts[0]}.${parts[1]}`));
    const given = Buffer.from(parts[2]);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'invalid' };
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (typeof claims.exp !== 'number' || claims.exp <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  private sign(input: string): string {
    return createHmac('sha256', this.secret).update(input).digest('base64url');
  }
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}
