import { timingSafeEqual } from 'node:crypto';
import type { ServicePrincipalCredentialState } from '@app/persistence';
import { AuthError } from './errors';
import { IpAllowList } from './ip-allow-list';
import type { AccessClaims } from './tokens';

/** Where the gate reads principals from (the service-principal repository). */
export interface PrincipalStateSource {
  credentialState(id: string): Promise<ServicePrincipalCredentialState | null>;
  generations(ids: string[]): Promise<Map<string, number>>;
}

/** One principal as this replica last read it. */
class Admission {
  constructor(
    readonly tenantId: string,
    readonly disabled: boolean,
    readonly generation: number,
    /** secret id → instant (ms) it stops; Infinity = until rotated away. */
    readonly secrets: ReadonlyMap<string, number>,
    readonly allow: IpAllowList,
    /** SHA-256 fingerprint (lowercase hex) of the only client certificate its tokens may arrive over; null = any. */
    readonly certificate: string | null,
  ) {}
}

/** A principal that no longer exists (deleted): remembered so a replayed token costs no SQL either. */
const GONE = 'gone' as const;

const certificateMismatch = () =>
  new AuthError(
    'CLIENT_CERTIFICATE_MISMATCH',
    'this service principal is bound to a client certificate the connection did not present',
  );

const revoked = () =>
  new AuthError('UNAUTHENTICATED', 'invalid access token: its credential was disabled, deleted or revoked');

/**
 * Admits a verified service token only while its credential is still good: the principal exists and is enabled,
 * the secret the token was issued for (`sid`) is still live, and the request comes from an allowed address. A
 * signature and an expiry alone would keep a disabled principal's tokens working until they expire.
 *
 * The state is cached per principal in memory (the DEK hot path stays synchronous) and dropped when anything about
 * the principal changes: by `forget` (called by the invalidation bus on every replica) and, as the fallback for a
 * lost message, by `poll`, which compares each cached principal's generation with Postgres. Time-based ends (a
 * rotation's overlap) need no message: the cache holds each secret's end and compares it with the clock.
 * Every forget is reported to `onForget` listeners, which drop what else they cache for the principal (its
 * verified tokens, its DEK scope).
 */
export class ServicePrincipalGate {
  private readonly cache = new Map<string, Admission | typeof GONE>();
  private readonly loading = new Map<string, Promise<Admission | typeof GONE>>();
  private readonly listeners: Array<(principalId: string) => void> = [];
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: PrincipalStateSource,
    private readonly opts: { pollIntervalMs: number; maxEntries?: number },
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  start(): void {
    this.poller = setInterval(() => void this.poll().catch(this.onError), this.opts.pollIntervalMs);
    this.poller.unref();
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
  }

  onForget(listener: (principalId: string) => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  /**
   * `true` when the token is admitted from cache; throws AuthError when it is refused (UNAUTHENTICATED for a
   * revoked credential, FORBIDDEN for an address outside the allow-list); a promise when the principal must be
   * read first (it resolves when admitted, rejects when refused).
   */
  admit(claims: AccessClaims, ip: string | undefined): true | Promise<void> {
    const hit = this.cache.get(claims.sub);
    if (hit !== undefined) return this.check(hit, claims, ip);
    return this.load(claims.sub).then((a) => {
      this.check(a, claims, ip);
    });
  }

  /**
   * The internal listener's certificate binding: `true` when the principal is not bound to a client certificate or
   * `fingerprint` (SHA-256 of the connection's client certificate, lowercase hex; undefined = none) is the bound
   * one; throws AuthError CLIENT_CERTIFICATE_MISMATCH otherwise. Same cache as `admit` (a promise on a miss).
   */
  admitCertificate(claims: AccessClaims, fingerprint: string | undefined): true | Promise<void> {
    const hit = this.cache.get(claims.sub);
    if (hit !== undefined) return this.checkCertificate(hit, fingerprint);
    return this.load(claims.sub).then((a) => {
      this.checkCertificate(a, fingerprint);
    });
  }

  /** Forget a principal here (and what the listeners cache for it); reads in flight are not cached. */
  forget(principalId: string): void {
    this.cache.delete(principalId);
    this.loading.delete(principalId);
    for (const l of this.listeners) l(principalId);
  }

  /** The missed-message fallback: re-read every cached principal whose generation moved or that is gone. */
  async poll(): Promise<void> {
    const ids = [...this.cache.entries()].filter(([, a]) => a !== GONE).map(([id]) => id);
    if (!ids.length) return;
    const current = await this.source.generations(ids);
    for (const id of ids) {
      const a = this.cache.get(id);
      if (a === undefined || a === GONE) continue;
      if (current.get(id) !== a.generation) this.forget(id);
    }
  }

  /** Cached principals (tests, metrics). */
  size(): number {
    return this.cache.size;
  }

  private check(a: Admission | typeof GONE, claims: AccessClaims, ip: string | undefined): true {
    if (a === GONE || a.disabled || a.tenantId !== claims.tid || claims.sid === undefined) throw revoked();
    const until = a.secrets.get(claims.sid);
    if (until === undefined || until <= Date.now()) throw revoked();
    if (!a.allow.allows(ip))
      throw new AuthError('FORBIDDEN', 'this service principal may not be used from this address');
    return true;
  }

  private checkCertificate(a: Admission | typeof GONE, fingerprint: string | undefined): true {
    // a gone principal is refused by `admit` with its own code; nothing to add here
    if (a === GONE || a.certificate === null) return true;
    if (fingerprint === undefined || !equalHex(a.certificate, fingerprint)) throw certificateMismatch();
    return true;
  }

  private load(id: string): Promise<Admission | typeof GONE> {
    const pending = this.loading.get(id);
    if (pending) return pending;
    const read: Promise<Admission | typeof GONE> = this.source
      .credentialState(id)
      .then((s) => {
        const a = s === null ? GONE : admission(s);
        // Cached only if no forget happened meanwhile (a change committed after this read began).
        if (this.loading.get(id) === read) this.store(id, a);
        return a;
      })
      .finally(() => {
        if (this.loading.get(id) === read) this.loading.delete(id);
      });
    this.loading.set(id, read);
    return read;
  }

  private store(id: string, a: Admission | typeof GONE): void {
    const max = this.opts.maxEntries ?? 100_000;
    if (!this.cache.has(id) && this.cache.size >= max) this.forget(this.cache.keys().next().value as string);
    this.cache.set(id, a);
  }
}

function admission(s: ServicePrincipalCredentialState): Admission {
  const secrets = new Map(s.secrets.map((x) => [x.id, x.expiresAt === null ? Infinity : x.expiresAt.getTime()]));
  return new Admission(
    s.tenantId,
    s.disabled,
    s.generation,
    secrets,
    new IpAllowList(s.ipAllowList),
    s.clientCertificateSha256 ?? null,
  );
}

/** Fingerprints are public, but compare them in constant time anyway: nothing here should leak by timing. */
function equalHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
