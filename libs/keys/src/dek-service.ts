import { randomUUID } from 'node:crypto';
import { generateDek, unwrapDek, wrapDek, WRAPPED_DEK_BYTES } from '@app/crypto';
import type { DekIssuanceAggregator, IssuanceTally } from '@app/audit';
import type { DekRow, KekVersionRow, KeyStateName, Repositories } from '@app/persistence';
import { isUuid, KEY_STATES } from '@app/persistence';
import { admitReason, reasonMask } from './access-reasons';
import { DEK_B64_FROM, DEK_B64_TO, encodeDekBody } from './dek-body';
import { DomainError, ErrorCode } from './errors';
import type { KekResolver } from './kek-resolver';

export interface DekPrincipal {
  /** Tenant id from the verified token. */
  readonly tid: string;
  /** Service principal id from the verified token. */
  readonly sub: string;
}

export interface IssuedDek {
  readonly segmentId: string;
  /** base64 of the 32-byte key: a string only at the response edge (strings cannot be wiped). */
  readonly dek: string;
  readonly dekId: string;
  readonly kekVersion: number;
}

/**
 * What one service principal may do with one workspace, as last read from Postgres. One compact object per
 * (principal, workspace); it also carries the principal's issuance tally so counting a DEK touches no Map.
 */
class Access {
  /** A background re-read is running (stale-while-revalidate). */
  refreshing = false;

  constructor(
    readonly tenantId: string,
    readonly inScope: boolean,
    readonly keyState: KeyStateName,
    readonly currentKekVersion: number | null,
    /** After this instant the entry is served once more and re-read in the background. */
    readonly refreshAt: number,
    /** After this instant the entry is not served at all (the background re-reads kept failing). */
    readonly expiresAt: number,
    readonly tally: IssuanceTally | null,
    /** The (principal, workspace) access-reason policy as a bit mask (see access-reasons.ts). */
    readonly reasons: number,
  ) {}
}

/** A cached wrapped DEK (ciphertext only). The 60 bytes are kept as a latin1 string: no ArrayBuffer per row. */
class CachedDek {
  constructor(
    readonly id: string,
    readonly kekVersion: number,
    readonly wrapped: string,
  ) {}
}

const SEGMENT_RE = /^[\x21-\x7e]{1,256}$/;

/** Whether a segment id is well-formed (1-256 printable ASCII characters without spaces). */
export const isSegmentId = (s: unknown): s is string => typeof s === 'string' && SEGMENT_RE.test(s);

const segmentDestroyed = () =>
  new DomainError(ErrorCode.SegmentDestroyed, 'this segment was destroyed; its DEK is gone for good');
/** A KEK version this replica believed live is retired (see getDeks). */
function staleKeyView(err: unknown): boolean {
  if (err instanceof DomainError)
    return err.code === ErrorCode.KeyIntegrity && /KEK version \d+ of the workspace is missing/.test(err.message);
  const e = err as { message?: string; driverError?: { message?: string } };
  return /retired KEK version/.test(String(e?.driverError?.message ?? e?.message ?? ''));
}

/**
 * Memory per cached workspace (a benchmarked budget of 2 KB): strings kept in long-lived maps must not be
 * slices of request URLs (a slice retains the whole URL) nor per-row copies of a handful of constants.
 */
const STATE_LITERALS = new Map<string, KeyStateName>(KEY_STATES.map((k) => [k, k]));
const stateLiteral = (s: KeyStateName | undefined): KeyStateName =>
  s === undefined ? 'unbound' : (STATE_LITERALS.get(s) ?? s);
/** A flat copy of an ASCII id (route parameters are slices of the request URL). */
const ownCopy = (id: string): string => Buffer.from(id, 'latin1').toString('latin1');
/** Bound of the id intern table; past it the table restarts (only sharing is lost, never correctness). */
const INTERN_MAX = 200_000;

/** How long a due state re-read waits for others to share its query, and the most ids one query carries. */
const REVALIDATE_BATCH_MS = 20;
const REVALIDATE_BATCH_MAX = 1000;

export interface DekServiceOptions {
  /**
   * How long a workspace's state + scope is served before it is re-read. Invalidations (local, pub/sub, and the
   * KEK cache's generation poll) drop entries at once; this is the backstop. The re-read happens off the
   * request path (stale-while-revalidate); an entry is never served past 5× this age. 0 = no caching.
   */
  readonly stateCacheTtlMs: number;
  readonly wrappedCacheEntries: number;
  readonly wrapReserveChunk: number;
  readonly batchMax: number;
  /** Most DEKs one workspace may hold; enforced in SQL (a reserved-slot counter). Default 10,000,000. */
  readonly quotaPerWorkspace?: number;
  /** A KEK version past this many wraps is rotated at once (not at the next scheduled check). Default 2^30. */
  readonly softWrapLimit?: number;
  /** No KEK version ever does more wraps than this: new DEKs under it are refused. Default 2^31. */
  readonly hardWrapCap?: number;
  /** Retry-After of KEK_WRAP_LIMIT (a rotation is running) and DEK_QUOTA_EXCEEDED. Default 5. */
  readonly retryAfterSeconds?: number;
}

const LIMIT_DEFAULTS = {
  quotaPerWorkspace: 10_000_000,
  softWrapLimit: 2 ** 30,
  hardWrapCap: 2 ** 31,
  retryAfterSeconds: 5,
};

/** What DEK creation asks of the outside (rate limiting, rotations). Fetching an existing DEK never calls these. */
export interface DekCreationHooks {
  /** Charge `n` creations to the principal; throws DomainError DEK_CREATE_RATE_LIMITED when over its rate. */
  chargeCreations(principalId: string, n: number): Promise<void>;
  /** A KEK version reached the soft threshold or the hard cap: start its rotation now (de-duplicated). */
  rotationNeeded(tenantId: string, workspaceId: string, why: string): Promise<void>;
}

/** At most one rotation request per KEK version and replica in this interval (the operations table de-duplicates too). */
const ROTATION_REQUEST_INTERVAL_MS = 10_000;

/**
 * The internal DEK API's logic (get-or-create). Warm path (`getWarm`): synchronous — the workspace state + scope,
 * the wrapped DEK row and the encoded plaintext DEK from in-memory caches — no SQL, no KMS, no unwrap, no promise.
 * Plaintext DEKs are cached only inside the KEK cache, under the KEK that wraps them (KekCache: they are dropped
 * whenever that KEK is); the wrapped rows are cached here.
 */
export class DekService {
  /** principal id → workspace id (lower-case) → access. Nested so a lookup builds no key string. */
  private readonly access = new Map<string, Map<string, Access>>();
  private accessCount = 0;
  /** workspace id → segment id → wrapped row. Nested so forgetting a workspace is O(its rows). */
  private readonly wrapped = new Map<string, Map<string, CachedDek>>();
  private wrappedCount = 0;
  private readonly wrapBudget = new Map<string, number>();
  /** In-flight state reads by workspace, then principal: concurrent cold requests share one query. */
  private readonly loading = new Map<string, Map<string, Promise<Access>>>();
  /** One flat string per workspace id, shared by every map that keys on it (see ownCopy). */
  private readonly ids = new Map<string, string>();
  /**
   * Bumped by every forgetSegment/forgetWorkspace: rows read from Postgres before an invalidation are served to
   * the request that read them but never cached (a destroyed segment must not come back into a cache).
   */
  private forgetGeneration = 0;
  /** Background state re-reads waiting for the next batch, by `tenant/principal` (see revalidate). */
  private readonly due = new Map<string, { tid: string; sub: string; entries: Map<string, Access> }>();
  private dueTimer: ReturnType<typeof setTimeout> | null = null;
  /** `workspace:version` → when a rotation was last requested from here for the wrap limit. */
  private readonly rotationAsked = new Map<string, number>();
  private readonly limits: typeof LIMIT_DEFAULTS;

  constructor(
    private readonly repos: Repositories,
    private readonly keks: KekResolver,
    private readonly opts: DekServiceOptions,
    private readonly issuance?: DekIssuanceAggregator,
    /**
     * Reports the cache generation (kek_generation + segment_epoch) each state read saw: the invalidation bus's
     * baseline (see KekInvalidationBus), never moved forward by a read.
     */
    private readonly observeKekGeneration?: (workspaceId: string, generation: number) => void,
    private readonly hooks?: DekCreationHooks,
  ) {
    this.limits = {
      quotaPerWorkspace: opts.quotaPerWorkspace ?? LIMIT_DEFAULTS.quotaPerWorkspace,
      softWrapLimit: opts.softWrapLimit ?? LIMIT_DEFAULTS.softWrapLimit,
      hardWrapCap: opts.hardWrapCap ?? LIMIT_DEFAULTS.hardWrapCap,
      retryAfterSeconds: opts.retryAfterSeconds ?? LIMIT_DEFAULTS.retryAfterSeconds,
    };
  }

  /**
   * The hot path: the DEK route's response body when everything it needs is cached, else undefined (the caller
   * falls back to `getDeks`). Never throws for a cache miss; throws the same DomainErrors as `getDeks` for a cached
   * refusal (out of scope, shredded, unbound), so a warm refusal costs no SQL either. Scope and state are checked
   * on every request, before the DEK cache is looked at; the cached body is principal-independent (key, id, version).
   * A DEK cache miss with the KEK cached unwraps once and caches the encoded DEK under that KEK.
   */
  getWarmBody(
    p: DekPrincipal,
    workspaceId: string,
    segmentId: string,
    reason = 0,
    ticket?: string,
  ): string | undefined {
    const a = this.access.get(p.sub)?.get(workspaceId);
    if (a === undefined || a.tenantId !== p.tid) return undefined;
    const now = Date.now();
    if (now >= a.refreshAt) {
      if (now >= a.expiresAt) return undefined;
      this.revalidate(p, workspaceId, a);
    }
    this.check(a);
    admitReason(a.reasons, reason, a.tally, now, ticket);
    const row = this.wrapped.get(workspaceId)?.get(segmentId);
    if (row === undefined) return undefined;
    let body = this.keks.dekBody(a.tenantId, workspaceId, row.kekVersion, segmentId, row.id);
    if (body === undefined) {
      const kek = this.keks.peek(a.tenantId, workspaceId, row.kekVersion);
      if (kek === undefined) return undefined;
      const dek = unwrapDek(kek, Buffer.from(row.wrapped, 'latin1'), {
        tenantId: a.tenantId,
        workspaceId,
        segmentId,
        kekVersion: row.kekVersion,
      });
      body = encodeDekBody(dek.toString('base64'), row.id, row.kekVersion);
      dek.fill(0);
      // Same synchronous stretch as the cache reads above: the row and the KEK are current, so the DEK is.
      this.keks.putDek(a.tenantId, workspaceId, row.kekVersion, ownCopy(segmentId), row.id, body);
    }
    if (a.tally) a.tally.add(1, now, reason, ticket);
    return body;
  }

  /** `reason` is the request's access-reason slot (0: none given) and `ticket` its ticket reference (access-reasons.ts). */
  async getDeks(
    p: DekPrincipal,
    workspaceId: string,
    segmentIds: readonly string[],
    reason = 0,
    ticket?: string,
  ): Promise<IssuedDek[]> {
    try {
      return await this.issue(p, workspaceId, segmentIds, reason, ticket);
    } catch (err) {
      if (!staleKeyView(err) || !isUuid(workspaceId)) throw await this.explain(p, workspaceId, err);
      // This replica's cached view of the workspace's keys predates a KEK rotation it has not heard of yet (a lost
      // invalidation): a cached DEK row names a version that was retired (its form destroyed), or a new DEK was about
      // to be created under it and the database refused. Forget the workspace and answer from fresh reads, once.
      this.forgetWorkspace(workspaceId.toLowerCase());
      try {
        return await this.issue(p, workspaceId, segmentIds, reason, ticket);
      } catch (again) {
        throw await this.explain(p, workspaceId, again);
      }
    }
  }

  /**
   * A request that read the workspace as serving just before it was destroyed finds its KEK and DEK rows gone
   * mid-way (the KEK row's foreign key refuses a new DEK, the wrap reservation finds no row): that is the
   * destruction, not a fault, and answers as such. Only unexpected failures pay this extra read.
   */
  private async explain(p: DekPrincipal, workspaceId: string, err: unknown): Promise<unknown> {
    if (err instanceof DomainError || !isUuid(workspaceId)) return err;
    const w = await this.repos.workspaces.findById(p.tid, workspaceId.toLowerCase()).catch(() => null);
    if (w?.keyState === 'destroyed') {
      this.forgetWorkspace(workspaceId.toLowerCase());
      return new DomainError(ErrorCode.WorkspaceDestroyed, 'the workspace was destroyed');
    }
    return err;
  }

  private async issue(
    p: DekPrincipal,
    workspaceId: string,
    segmentIds: readonly string[],
    reason: number,
    ticket: string | undefined,
  ): Promise<IssuedDek[]> {
    if (!isUuid(workspaceId)) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    workspaceId = this.canonical(workspaceId.toLowerCase());
    if (segmentIds.length === 0) return [];
    if (segmentIds.length > this.opts.batchMax)
      throw new DomainError(ErrorCode.ValidationFailed, `at most ${this.opts.batchMax} segmentIds per request`);
    for (const s of segmentIds)
      if (typeof s !== 'string' || !SEGMENT_RE.test(s))
        throw new DomainError(
          ErrorCode.ValidationFailed,
          'segment ids are 1-256 printable ASCII characters without spaces',
        );

    const cachedRows = this.wrapped.get(workspaceId);
    const rows = new Map<string, CachedDek>();
    const missing = new Set<string>();
    for (const s of segmentIds) {
      const hit = cachedRows?.get(s);
      if (hit) rows.set(s, hit);
      else missing.add(s);
    }
    // Cold workspace: the state/scope read and the DEK row read go out together (the rows are read under the
    // token's tenant and are only used once the scope check has passed).
    // When no KEK of the workspace is cached either, its KEK rows join that round trip: a cold fetch then reads
    // Postgres once before the KMS call, not twice (same rule: nothing is used before the scope check).
    // Destroyed segments come back from the same query as the rows (segment tombstones): no extra round trip.
    const gen = this.forgetGeneration;
    const none = { rows: [] as DekRow[], destroyed: [] as string[] };
    let a = this.cachedAccess(p, workspaceId);
    let found = none;
    let kekRows: KekVersionRow[] | undefined;
    if (!a) {
      const [loaded, r, k] = await Promise.all([
        this.loadAccess(p, workspaceId),
        missing.size
          ? this.repos.segments.findDeksOrTombstones(p.tid, workspaceId, [...missing])
          : Promise.resolve(none),
        this.keks.mayNeedRows(workspaceId) ? this.repos.keks.findLive(p.tid, workspaceId) : Promise.resolve(undefined),
      ]);
      a = loaded;
      found = r;
      kekRows = k;
      this.check(a);
    } else {
      this.check(a);
      if (missing.size) found = await this.repos.segments.findDeksOrTombstones(a.tenantId, workspaceId, [...missing]);
    }
    const access = a;
    admitReason(access.reasons, reason, access.tally, Date.now(), ticket);
    if (missing.size) {
      if (found.destroyed.length) throw segmentDestroyed();
      for (const r of found.rows) rows.set(r.segmentId, this.remember(workspaceId, r, gen));
      const toCreate = [...missing].filter((s) => !rows.has(s));
      if (toCreate.length) await this.create(p, access, workspaceId, toCreate, rows, gen, kekRows);
    }

    // One KEK use per version present in this batch (normally one).
    const byVersion = new Map<number, string[]>();
    for (const s of segmentIds) {
      const v = rows.get(s)!.kekVersion;
      const list = byVersion.get(v);
      if (list) list.push(s);
      else byVersion.set(v, [s]);
    }
    const out = new Map<string, IssuedDek>();
    for (const [version, segs] of byVersion) {
      await this.keks.withKek(
        access.tenantId,
        workspaceId,
        version,
        (kek) => {
          for (const s of segs) {
            if (out.has(s)) continue;
            const r = rows.get(s)!;
            let b64 = this.keks.dekPart(access.tenantId, workspaceId, version, s, r.id, DEK_B64_FROM, DEK_B64_TO);
            if (b64 === undefined) {
              const dek = unwrapDek(kek, Buffer.from(r.wrapped, 'latin1'), {
                tenantId: access.tenantId,
                workspaceId,
                segmentId: s,
                kekVersion: version,
              });
              b64 = dek.toString('base64');
              dek.fill(0);
              // Only rows read before no invalidation: a segment destroyed while this request ran is never cached.
              if (gen === this.forgetGeneration)
                this.keks.putDek(
                  access.tenantId,
                  workspaceId,
                  version,
                  ownCopy(s),
                  r.id,
                  encodeDekBody(b64, r.id, version),
                );
            }
            out.set(s, { segmentId: s, dek: b64, dekId: r.id, kekVersion: version });
          }
        },
        kekRows,
      );
    }
    if (access.tally) access.tally.add(segmentIds.length, Date.now(), reason, ticket);
    else this.issuance?.count(access.tenantId, p.sub, workspaceId, segmentIds.length, reason, ticket);
    return segmentIds.map((s) => out.get(s)!);
  }

  /** Drop one destroyed segment's cached wrapped row (segment destroy listener, every replica). */
  forgetSegment(workspaceId: string, segmentId: string): void {
    this.forgetGeneration++;
    const rows = this.wrapped.get(workspaceId);
    if (rows?.delete(segmentId)) this.wrappedCount--;
  }

  /** Whether a segment's wrapped row is cached here (tests: a destroyed segment must not be). */
  cachedSegment(workspaceId: string, segmentId: string): boolean {
    return this.wrapped.get(workspaceId.toLowerCase())?.has(segmentId) ?? false;
  }

  /** Drop cached state and wrapped rows of a workspace (KEK cache invalidation listener). */
  forgetWorkspace(workspaceId: string): void {
    this.forgetGeneration++;
    for (const m of this.access.values()) if (m.delete(workspaceId)) this.accessCount--;
    // Reads in flight were started before this invalidation: dropping them from `loading` keeps them out of the cache.
    this.loading.delete(workspaceId);
    this.ids.delete(workspaceId);
    const rows = this.wrapped.get(workspaceId);
    if (rows) {
      this.wrappedCount -= rows.size;
      this.wrapped.delete(workspaceId);
    }
    for (const k of this.wrapBudget.keys()) if (k.startsWith(`${workspaceId}:`)) this.wrapBudget.delete(k);
    for (const k of this.rotationAsked.keys()) if (k.startsWith(`${workspaceId}:`)) this.rotationAsked.delete(k);
  }

  /**
   * Drop a principal's cached scope/state for every workspace (its scope changed, it was disabled or deleted);
   * reads in flight for it are not cached (same rule as forgetWorkspace).
   */
  forgetPrincipal(principalId: string): void {
    const m = this.access.get(principalId);
    if (m) {
      this.accessCount -= m.size;
      this.access.delete(principalId);
    }
    for (const [workspaceId, byPrincipal] of this.loading)
      if (byPrincipal.delete(principalId) && byPrincipal.size === 0) this.loading.delete(workspaceId);
  }

  /** Cached entries (tests, metrics). */
  cacheSizes(): { access: number; wrapped: number } {
    return { access: this.accessCount, wrapped: this.wrappedCount };
  }

  private check(a: Access): void {
    // Outside the principal's scope looks exactly like a workspace that does not exist.
    if (!a.inScope) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    if (a.keyState === 'shredded')
      throw new DomainError(ErrorCode.WorkspaceShredded, 'the workspace keys were shredded');
    if (a.keyState === 'destroyed') throw new DomainError(ErrorCode.WorkspaceDestroyed, 'the workspace was destroyed');
    if (a.keyState === 'unbound' || a.keyState === 'provisioning' || a.currentKekVersion === null)
      throw new DomainError(ErrorCode.WorkspaceUnbound, 'the workspace is not bound to a key configuration yet');
  }

  private cachedAccess(p: DekPrincipal, workspaceId: string): Access | undefined {
    const a = this.access.get(p.sub)?.get(workspaceId);
    if (!a || a.tenantId !== p.tid) return undefined;
    const now = Date.now();
    if (now >= a.expiresAt) return undefined;
    if (now >= a.refreshAt) this.revalidate(p, workspaceId, a);
    return a;
  }

  /**
   * Reads state + scope, caches it (unless caching is off) and returns it. Concurrent callers for the same
   * (principal, workspace) share one read: after an idle period a burst of requests costs one query, not one each.
   */
  private loadAccess(p: DekPrincipal, workspaceId: string): Promise<Access> {
    let byPrincipal = this.loading.get(workspaceId);
    const pending = byPrincipal?.get(p.sub);
    if (pending) return pending.then((a) => (a.tenantId === p.tid ? a : this.readAccess(p, workspaceId)));
    const read: Promise<Access> = this.readAccess(p, workspaceId)
      .then((a) => {
        // Cached only if still registered: forgetWorkspace drops reads that started before an invalidation.
        if (this.opts.stateCacheTtlMs > 0 && this.loading.get(workspaceId)?.get(p.sub) === read)
          this.store(p.sub, workspaceId, a);
        return a;
      })
      .finally(() => {
        const m = this.loading.get(workspaceId);
        if (m?.get(p.sub) === read) {
          m.delete(p.sub);
          if (m.size === 0) this.loading.delete(workspaceId);
        }
      });
    if (!byPrincipal) {
      byPrincipal = new Map();
      this.loading.set(workspaceId, byPrincipal);
    }
    byPrincipal.set(p.sub, read);
    return read;
  }

  /** One read of state + scope (not cached here: loadAccess decides). */
  private async readAccess(p: DekPrincipal, workspaceId: string): Promise<Access> {
    const w = await this.repos.workspaces.findForPrincipal(p.tid, workspaceId, p.sub);
    const ttl = this.opts.stateCacheTtlMs;
    const now = Date.now();
    const a = new Access(
      p.tid,
      !!w?.inScope,
      stateLiteral(w?.keyState),
      w?.currentKekVersion ?? null,
      now + ttl,
      now + ttl * 5,
      w?.inScope && this.issuance ? this.issuance.tally(p.tid, p.sub, workspaceId) : null,
      reasonMask(w),
    );
    if (w) this.observeKekGeneration?.(workspaceId, Number(w.cacheVersion));
    return a;
  }

  /**
   * Stale-while-revalidate: the request that notices the age keeps the cached answer; a background read replaces it.
   * Re-reads are batched: those that fall due within REVALIDATE_BATCH_MS go out as one query per (tenant, principal)
   * (measured: one query per workspace and state TTL was ~0.7-2.5 µs of server CPU per warm DEK request at 300-1,000
   * workspaces, most of the pg/TypeORM cost per statement). A result is dropped if the entry was invalidated
   * meanwhile (never resurrect forgotten state).
   */
  private revalidate(p: DekPrincipal, workspaceId: string, a: Access): void {
    if (a.refreshing) return;
    a.refreshing = true;
    const key = `${p.tid}/${p.sub}`;
    let group = this.due.get(key);
    if (group === undefined) {
      group = { tid: p.tid, sub: p.sub, entries: new Map() };
      this.due.set(key, group);
    }
    group.entries.set(workspaceId, a);
    if (this.dueTimer === null) {
      this.dueTimer = setTimeout(() => this.revalidateDue(), REVALIDATE_BATCH_MS);
      this.dueTimer.unref?.();
    }
  }

  /** One state read per (tenant, principal) for every entry that fell due (at most REVALIDATE_BATCH_MAX ids each). */
  private revalidateDue(): void {
    this.dueTimer = null;
    const groups = [...this.due.values()];
    this.due.clear();
    for (const g of groups) {
      const all = [...g.entries];
      for (let i = 0; i < all.length; i += REVALIDATE_BATCH_MAX)
        this.revalidateSome(g.tid, g.sub, all.slice(i, i + REVALIDATE_BATCH_MAX));
    }
  }

  private revalidateSome(tid: string, sub: string, entries: Array<[string, Access]>): void {
    void this.repos.workspaces
      .findManyForPrincipal(
        tid,
        entries.map(([w]) => w),
        sub,
      )
      .then(
        (found) => {
          const byId = new Map(found.map((w) => [w.id, w]));
          const now = Date.now();
          const ttl = this.opts.stateCacheTtlMs;
          for (const [workspaceId, a] of entries) {
            if (this.access.get(sub)?.get(workspaceId) !== a) continue;
            // absent: the workspace does not exist in this tenant (any more): out of scope, like a single read
            const w = byId.get(workspaceId);
            const next = new Access(
              tid,
              !!w?.inScope,
              stateLiteral(w?.keyState),
              w?.currentKekVersion ?? null,
              now + ttl,
              now + ttl * 5,
              a.tally,
              reasonMask(w),
            );
            if (w) this.observeKekGeneration?.(workspaceId, Number(w.cacheVersion));
            if (this.access.get(sub)?.get(workspaceId) !== a) continue; // the read itself found a missed change
            this.store(sub, workspaceId, next);
          }
        },
        () => {
          // keep serving until expiresAt; the next request after a pause retries
          for (const [, a] of entries) a.refreshing = false;
        },
      );
  }

  /** The shared copy of a (validated, lower-case) workspace id. */
  private canonical(workspaceId: string): string {
    const have = this.ids.get(workspaceId);
    if (have !== undefined) return have;
    if (this.ids.size >= INTERN_MAX) this.ids.clear();
    const own = ownCopy(workspaceId);
    this.ids.set(own, own);
    return own;
  }

  private store(sub: string, workspaceId: string, a: Access): void {
    let m = this.access.get(sub);
    if (!m) {
      m = new Map();
      this.access.set(sub, m);
    }
    if (!m.has(workspaceId)) {
      if (this.accessCount >= 100_000) {
        this.access.clear();
        this.accessCount = 0;
        m = new Map();
        this.access.set(sub, m);
      }
      this.accessCount++;
    }
    m.set(workspaceId, a);
  }

  /**
   * Creates DEKs for segments that have none. Limits, in order: the principal's creation rate (Redis, shared by
   * replicas), the workspace quota (slots reserved in SQL), the KEK version's wrap cap (wraps reserved in SQL).
   * Each grant is what the store says: fewer granted than asked means only that many DEKs are created and the
   * request then fails with the limit's error (the created ones are served on retry, they count once).
   */
  private async create(
    p: DekPrincipal,
    a: Access,
    workspaceId: string,
    segmentIds: string[],
    rows: Map<string, CachedDek>,
    gen: number,
    kekRows?: readonly KekVersionRow[],
  ): Promise<void> {
    const version = a.currentKekVersion!;
    if (this.hooks) await this.hooks.chargeCreations(p.sub, segmentIds.length);
    let refusal: DomainError | undefined;
    let ids = segmentIds;
    const slots = await this.repos.segments.reserveDekSlots(
      a.tenantId,
      workspaceId,
      ids.length,
      this.limits.quotaPerWorkspace,
    );
    if (slots < ids.length) {
      ids = ids.slice(0, slots);
      refusal = new DomainError(
        ErrorCode.DekQuotaExceeded,
        `the workspace holds its maximum of ${this.limits.quotaPerWorkspace} DEKs; destroy segments that are no longer needed`,
        this.limits.retryAfterSeconds,
      );
    }
    let used = 0;
    try {
      if (ids.length) {
        const wraps = await this.reserveWraps(a.tenantId, workspaceId, version, ids.length);
        if (wraps < ids.length) {
          ids = ids.slice(0, wraps);
          refusal ??= new DomainError(
            ErrorCode.KekWrapLimit,
            'the workspace KEK reached its wrap limit; a KEK rotation was started, retry shortly',
            this.limits.retryAfterSeconds,
          );
        }
      }
      if (ids.length) {
        const batch = ids;
        const items = await this.keks.withKek(
          a.tenantId,
          workspaceId,
          version,
          (kek) =>
            batch.map((segmentId) => {
              const dek = generateDek();
              try {
                return {
                  id: randomUUID(),
                  segmentId,
                  kekVersion: version,
                  wrapped: wrapDek(kek, dek, { tenantId: a.tenantId, workspaceId, segmentId, kekVersion: version }),
                };
              } finally {
                dek.fill(0);
              }
            }),
          kekRows,
        );
        const inserted = await this.repos.deks.insertIfAbsent(a.tenantId, workspaceId, items);
        used = inserted.length;
        for (const r of inserted) rows.set(r.segmentId, this.remember(workspaceId, r, gen));
      }
    } finally {
      // Slots not turned into rows (lost races, destroyed ids, refused wraps) go back to the workspace.
      await this.repos.segments.releaseDekSlots(a.tenantId, workspaceId, slots - used).catch(() => undefined);
    }
    // Losers of a concurrent create read the winner's row: one DEK per segment, whoever asked first. A segment
    // destroyed meanwhile has no row but a tombstone (the insert trigger skipped it): 410, never a new DEK.
    const lost = ids.filter((s) => !rows.has(s));
    if (lost.length) {
      const again = await this.repos.segments.findDeksOrTombstones(a.tenantId, workspaceId, lost);
      if (again.destroyed.length) throw segmentDestroyed();
      for (const r of again.rows) rows.set(r.segmentId, this.remember(workspaceId, r, gen));
    }
    if (refusal) throw refusal;
    if (segmentIds.some((s) => !rows.has(s))) throw new Error('DEK row vanished between insert and read');
  }

  /**
   * Wraps are counted per KEK version for the GCM nonce budget, reserved in chunks so the hot path does not
   * UPDATE kek_versions per DEK. A crash loses at most one chunk of headroom (over-counts, never under-counts).
   * Returns how many of the `n` wraps may be done: the database's grant is the truth, it never passes the hard
   * cap. Reaching the soft threshold or the cap requests a KEK rotation at once.
   */
  private async reserveWraps(tenantId: string, workspaceId: string, version: number, n: number): Promise<number> {
    const key = [workspaceId, version].join(':'); // one flat string (a template literal keeps a cons chain alive in the map)
    const left = this.wrapBudget.get(key) ?? 0;
    if (left >= n) {
      this.wrapBudget.set(key, left - n);
      return n;
    }
    // Take the local leftover now (concurrent creators may change the budget while we wait on Postgres).
    this.wrapBudget.delete(key);
    const chunk = Math.max(this.opts.wrapReserveChunk, n - left);
    const { granted, count } = await this.repos.keks.reserveWraps(
      tenantId,
      workspaceId,
      version,
      chunk,
      this.limits.hardWrapCap,
    );
    const have = left + granted;
    const use = Math.min(n, have);
    if (have > use) this.wrapBudget.set(key, (this.wrapBudget.get(key) ?? 0) + have - use);
    if (count >= this.limits.softWrapLimit || granted < chunk)
      this.requestRotation(
        tenantId,
        workspaceId,
        key,
        granted < chunk ? 'KEK wrap hard cap reached' : 'KEK wrap count limit reached',
      );
    return use;
  }

  private requestRotation(tenantId: string, workspaceId: string, key: string, why: string): void {
    if (!this.hooks) return;
    const now = Date.now();
    const last = this.rotationAsked.get(key);
    if (last !== undefined && now - last < ROTATION_REQUEST_INTERVAL_MS) return;
    this.rotationAsked.set(key, now);
    // Awaited by nobody: a failed request is retried by the next creation after the interval, and the scheduled
    // rotation check covers the wrap limit in every state too.
    void this.hooks.rotationNeeded(tenantId, workspaceId, why).catch(() => this.rotationAsked.delete(key));
  }

  /** Converts a row to its compact cached form and caches it (FIFO by workspace beyond the bound). */
  private remember(workspaceId: string, r: DekRow, gen: number): CachedDek {
    if (!Buffer.isBuffer(r.wrapped) || r.wrapped.length !== WRAPPED_DEK_BYTES)
      throw new DomainError(ErrorCode.KeyIntegrity, 'a stored wrapped DEK has the wrong length');
    const row = new CachedDek(r.id, Number(r.kekVersion), r.wrapped.toString('latin1'));
    const max = this.opts.wrappedCacheEntries;
    if (max <= 0 || gen !== this.forgetGeneration) return row;
    let m = this.wrapped.get(workspaceId);
    if (!m) {
      m = new Map();
      this.wrapped.set(workspaceId, m);
    }
    if (!m.has(r.segmentId)) {
      this.wrappedCount++;
      // Evict whole workspaces, oldest cached first, never the one being filled.
      while (this.wrappedCount > max && this.wrapped.size > 1) {
        const [oldest, rowsOf] = this.wrapped.entries().next().value as [string, Map<string, CachedDek>];
        if (oldest === workspaceId) {
          this.wrapped.delete(oldest);
          this.wrapped.set(oldest, rowsOf);
          continue;
        }
        this.wrapped.delete(oldest);
        this.wrappedCount -= rowsOf.size;
      }
    }
    m.set(r.segmentId, row);
    return row;
  }
}
