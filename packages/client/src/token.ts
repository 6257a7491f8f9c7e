import { AuthenticationError, KeyholdError } from './errors';

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

export interface Token {
  readonly accessToken: string;
  /** The tenant the server put in the token (`tid`): envelopes are bound to it. */
  readonly tenantId: string;
  /** Client clock (ms) after which the token is not used any more. */
  readonly expiresAt: number;
  /** Client clock (ms) from which a new token is fetched in the background. */
  readonly refreshAt: number;
}

export type TokenFetcher = (c: Credentials) => Promise<{ accessToken: string; expiresInSeconds: number }>;

/**
 * `client_credentials` tokens: one request in flight at a time whatever the concurrency (single flight), renewed
 * ahead of expiry in the background while the current one is still served, and dropped on a 401 so the next
 * call re-authenticates.
 */
export class TokenSource {
  private current: Token | undefined;
  private inflight: Promise<Token> | undefined;

  constructor(
    private readonly creds: Credentials,
    private readonly fetchToken: TokenFetcher,
    private readonly refreshAheadMs: (ttlMs: number) => number = (ttl) => Math.min(60_000, ttl / 5),
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<Token> {
    const t = this.current;
    const now = this.now();
    if (t && now < t.expiresAt) {
      if (now >= t.refreshAt) void this.refresh().catch(() => undefined);
      return t;
    }
    return this.refresh();
  }

  /** The token the server just refused: forget it (unless a newer one already replaced it). */
  invalidate(accessToken: string): void {
    if (this.current?.accessToken === accessToken) this.current = undefined;
  }

  private refresh(): Promise<Token> {
    this.inflight ??= (async () => {
      try {
        const start = this.now();
        const r = await this.fetchToken(this.creds);
        // The server counts lifetimes in whole seconds from its own (truncated) issue time: a token can lapse up to
        // a second before `expires_in` says, so that second is not ours to use.
        const ttl = Math.max(0, r.expiresInSeconds * 1000 - 1000);
        const tenantId = tenantOf(r.accessToken);
        const t: Token = {
          accessToken: r.accessToken,
          tenantId,
          expiresAt: start + ttl,
          refreshAt: start + ttl - this.refreshAheadMs(ttl),
        };
        this.current = t;
        return t;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}

/** Reads `tid` from the JWT payload. Not a verification (the server verifies); the value only labels envelopes. */
function tenantOf(jwt: string): string {
  const part = jwt.split('.')[1];
  try {
    const claims = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as { tid?: unknown };
    if (typeof claims.tid === 'string') return claims.tid.toLowerCase();
  } catch {
    // fall through
  }
  throw new KeyholdError('the token endpoint returned a token without a tenant', 'BAD_TOKEN');
}

export { AuthenticationError };
