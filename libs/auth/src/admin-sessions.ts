import type Redis from 'ioredis';
import { AuthError } from './errors';
import type { AccessClaims } from './tokens';

/** The session generation of an admin user now, or null when the user is gone or disabled (no session is valid). */
export type GenerationLoader = (tenantId: string, userId: string) => Promise<number | null>;

interface Known {
  gen: number | null;
  at: number;
}

/**
 * Immediate revocation of admin sessions on every API replica. Each admin access token carries the session
 * generation its user had when it was issued (`gen`); any change to the user (disable, delete, role, password)
 * bumps the generation in the database and publishes `{sub, gen}` on a Redis channel. Every replica keeps the
 * generations it has seen, checks each admin request against them (one Map lookup), drops its cached token
 * verifications of that subject on a message, and re-reads a generation from the database when its entry is older
 * than `maxAgeMs` — the bound on staleness if a message is ever lost (Redis pub/sub is at-most-once).
 */
export class AdminSessions {
  private readonly known = new Map<string, Known>();
  private readonly channel: string;
  private subscribed = false;
  private readonly onMessage = (channel: string, raw: string) => {
    if (channel !== this.channel) return;
    try {
      const m = JSON.parse(raw) as { sub?: unknown; gen?: unknown };
      if (typeof m.sub !== 'string') return;
      this.remember(m.sub, typeof m.gen === 'number' ? m.gen : null);
      this.onRevoked(m.sub);
    } catch {
      /* a malformed message changes nothing; the database read after maxAgeMs still applies */
    }
  };

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    private readonly load: GenerationLoader,
    private readonly onRevoked: (sub: string) => void,
    private readonly maxAgeMs = 30_000,
    private readonly maxEntries = 100_000,
  ) {
    this.channel = `${prefix}:admin-sessions`;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
  }

  async close(): Promise<void> {
    this.subscriber.off('message', this.onMessage);
    if (this.subscribed) await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  /** Throws UNAUTHENTICATED unless the token's generation is the user's current one. */
  async assertCurrent(claims: AccessClaims): Promise<void> {
    let k = this.known.get(claims.sub);
    if (!k || Date.now() - k.at > this.maxAgeMs) {
      const gen = await this.load(claims.tid, claims.sub);
      k = this.remember(claims.sub, gen);
    }
    if (k.gen === null || claims.gen !== k.gen)
      throw new AuthError('UNAUTHENTICATED', 'invalid access token: the session was revoked');
  }

  /** After the database change committed: this replica at once, the others through the channel. */
  async revoked(sub: string, gen: number | null): Promise<void> {
    this.remember(sub, gen);
    this.onRevoked(sub);
    await this.redis.publish(this.channel, JSON.stringify({ sub, gen }));
  }

  private remember(sub: string, gen: number | null): Known {
    const k = { gen, at: Date.now() };
    this.known.delete(sub);
    if (this.known.size >= this.maxEntries) this.known.delete(this.known.keys().next().value as string);
    this.known.set(sub, k);
    return k;
  }
}
