import { randomUUID } from 'node:crypto';
import { generateDek, unwrapDek, wrapDek, WRAPPED_DEK_BYTES } from '@app/crypto';
import type { DekIssuanceAggregator, IssuanceTally } from '@app/audit';
import type { DekRow, KekVersionRow, KeyStateName, Repositories } from '@app/persistence';
import { isUuid, KEY_STATES } from '@app/persistence';
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

/** A KEK version this replica believed live is retired (see getDeks). */
function staleKeyView(err: unknown): boolean {
  if (err instanceof DomainError) return err.code === ErrorCode.KeyIntegrity && /KEK version \d+ of the workspace is missing/.test(err.message);
  const e = err as { message?: string; driverError?: { message?: string } };
  return /retired KEK version/.test(String(e?.driverError?.message ?? e?.message ?? ''));
}

/**
 * Memory per cached workspace (shared/PERFORMANCE.md budget: 2 KB): strings kept in long-lived maps must not be
 * slices of request URLs (a slice retains the whole URL) nor per-row copies of a handful of constants.
 */
const STATE_LITERALS = new Map<string, KeyStateName>(KEY_STATES.map((k) => [k, k]));
const stateLiteral = (s: KeyStateName | undefined): KeyStateName => (s === undefined ? 'unbound' : (STATE_LITERALS.get(s) ?? s));
/** A flat copy of an ASCII id (route parameters are slices of the request URL). */
const ownCopy = (id: string): string => Buffer.from(id, 'latin1').toString('latin1');
/** Bound of the id intern table; past it the table restarts (only sharing is lost, never correctness). */
const INTERN_MAX = 200_000;

export interface DekServiceOptions {
  /**
   * How long a workspace's state + scope is served before it is re-read. Invalidations (local, pub/sub, and the
   * KEK cache's state_version poll) drop entries at once; this is the backstop. The re-read happens off the
   * request path (stale-while-revalidate); an entry is never served past 5× this age. 0 = no caching.
   */
  readonly stateCacheTtlMs: number;
  readonly wrappedCacheEntries: number;
  readonly wrapReserveChunk: number;
  readonly batchMax: number;
}

/**
 * The internal DEK API's logic (get-or-create). Warm path (`getWarm`): synchronous — the workspace state + scope,
 * the wrapped DEK row and the KEK from in-memory caches, one AES-GCM unwrap — no SQL, no KMS, no promise.
 * Only *wrapped* DEK rows are cached; plaintext exists only for the request that returns it.
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

  constructor(
    private readonly repos: Repositories,
    private readonly keks: KekResolver,
    private readonly opts: DekServiceOptions,
    private readonly issuance?: DekIssuanceAggregator,
    private readonly observeStateVersion?: (workspaceId: string, stateVersion: number) => void,
  ) {}

  /**
   * The hot path: one DEK when everything it needs is cached, else undefined (the caller falls back to
   * `getDeks`). Never throws for a cache miss; throws the same DomainErrors as `getDeks` for a cached refusal
   * (out of scope, shredded, unbound), so a warm refusal costs no SQL either.
   */
  getWarm(p: DekPrincipal, workspaceId: string, segmentId: string): IssuedDek | undefined {
    const a = this.access.get(p.sub)?.get(workspaceId);
    if (a === undefined || a.tenantId !== p.tid) return undefined;
    const now = Date.now();
    if (now >= a.refreshAt) {
      if (now >= a.expiresAt) return undefined;
      this.revalidate(p, workspaceId, a);
    }
    this.check(a);
    const row = this.wrapped.get(workspaceId)?.get(segmentId);
    if (row === undefined) return undefined;
    const kek = this.keks.peek(a.tenantId, workspaceId, row.kekVersion);
    if (kek === undefined) return undefined;
    const dek = unwrapDek(kek, Buffer.from(row.wrapped, 'latin1'), { tenantId: a.tenantId, workspaceId, segmentId, kekVersion: row.kekVersion });
    const b64 = dek.toString('base64');
    dek.fill(0);
    if (a.tally) a.tally.add(1, now);
    return { segmentId, dek: b64, dekId: row.id, kekVersion: row.kekVersion };
  }

  async getDeks(p: DekPrincipal, workspaceId: string, segmentIds: readonly string[]): Promise<IssuedDek[]> {
    try {
      return await this.issue(p, workspaceId, segmentIds);
    } catch (err) {
      if (!staleKeyView(err) || !isUuid(workspaceId)) throw await this.explain(p, workspaceId, err);
      // This replica's cached view of the workspace's keys predates a KEK rotation it has not heard of yet (a lost
      // invalidation): a cached DEK row names a version that was retired (its form destroyed), or a new DEK was about
      // to be created under it and the database refused. Forget the workspace and answer from fresh reads, once.
      this.forgetWorkspace(workspaceId.toLowerCase());
      try {
        return await this.issue(p, workspaceId, segmentIds);
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

  private async issue(p: DekPrincipal, workspaceId: string, segmentIds: readonly string[]): Promise<IssuedDek[]> {
    if (!isUuid(workspaceId)) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    workspaceId = this.canonical(workspaceId.toLowerCase());
    if (segmentIds.length === 0) return [];
    if (segmentIds.length > this.opts.batchMax)
      throw new DomainError(ErrorCode.ValidationFailed, `at most ${this.opts.batchMax} segmentIds per request`);
    for (const s of segmentIds)
      if (typeof s !== 'string' || !SEGMENT_RE.test(s))
        throw new DomainError(ErrorCode.ValidationFailed, 'segment ids are 1-256 printable ASCII characters without spaces');

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
    let a = this.cachedAccess(p, workspaceId);
    let found: DekRow[] = [];
    let kekRows: KekVersionRow[] | undefined;
    if (!a) {
      const [loaded, r, k] = await Promise.all([
        this.loadAccess(p, workspaceId),
        missing.size ? this.repos.deks.findMany(p.tid, workspaceId, [...missing]) : Promise.resolve([] as DekRow[]),
        this.keks.mayNeedRows(workspaceId) ? this.repos.keks.findLive(p.tid, workspaceId) : Promise.resolve(undefined),
      ]);
      a = loaded;
      found = r;
      kekRows = k;
      this.check(a);
    } else {
      this.check(a);
      if (missing.size) found = await this.repos.deks.findMany(a.tenantId, workspaceId, [...missing]);
    }
    const access = a;
    if (missing.size) {
      for (const r of found) rows.set(r.segmentId, this.remember(workspaceId, r));
      const toCreate = [...missing].filter((s) => !rows.has(s));
      if (toCreate.length) await this.create(access, workspaceId, toCreate, rows, kekRows);
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
      await this.keks.withKek(access.tenantId, workspaceId, version, (kek) => {
        for (const s of segs) {
          if (out.has(s)) continue;
          const r = rows.get(s)!;
          const dek = unwrapDek(kek, Buffer.from(r.wrapped, 'latin1'), { tenantId: access.tenantId, workspaceId, segmentId: s, kekVersion: version });
          out.set(s, { segmentId: s, dek: dek.toString('base64'), dekId: r.id, kekVersion: version });
          dek.fill(0);
        }
      }, kekRows);
    }
    if (access.tally) access.tally.add(segmentIds.length, Date.now());
    else this.issuance?.count(access.tenantId, p.sub, workspaceId, segmentIds.length);
    return segmentIds.map((s) => out.get(s)!);
  }

  /** Drop cached state and wrapped rows of a workspace (KEK cache invalidation listener). */
  forgetWorkspace(workspaceId: string): void {
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
  }

  /** Cached entries (tests, metrics). */
  cacheSizes(): { access: number; wrapped: number } {
    return { access: this.accessCount, wrapped: this.wrappedCount };
  }

  private check(a: Access): void {
    // Outside the principal's scope looks exactly like a workspace that does not exist.
    if (!a.inScope) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    if (a.keyState === 'shredded') throw new DomainError(ErrorCode.WorkspaceShredded, 'the workspace keys were shredded');
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
        if (this.opts.stateCacheTtlMs > 0 && this.loading.get(workspaceId)?.get(p.sub) === read) this.store(p.sub, workspaceId, a);
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
    );
    if (w) this.observeStateVersion?.(workspaceId, Number(w.stateVersion));
    return a;
  }

  /**
   * Stale-while-revalidate: the request that notices the age keeps the cached answer; one background read
   * replaces it. A result is dropped if the entry was invalidated meanwhile (never resurrect forgotten state).
   */
  private revalidate(p: DekPrincipal, workspaceId: string, a: Access): void {
    if (a.refreshing) return;
    a.refreshing = true;
    const principal = { tid: p.tid, sub: p.sub };
    void this.repos.workspaces.findForPrincipal(principal.tid, workspaceId, principal.sub).then(
      (w) => {
        if (this.access.get(principal.sub)?.get(workspaceId) !== a) return;
        const now = Date.now();
        const ttl = this.opts.stateCacheTtlMs;
        const next = new Access(principal.tid, !!w?.inScope, stateLiteral(w?.keyState), w?.currentKekVersion ?? null, now + ttl, now + ttl * 5, a.tally);
        if (w) this.observeStateVersion?.(workspaceId, Number(w.stateVersion));
        this.store(principal.sub, workspaceId, next);
      },
      () => {
        // keep serving until expiresAt; the next request after a pause retries
        a.refreshing = false;
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

  private async create(a: Access, workspaceId: string, segmentIds: string[], rows: Map<string, CachedDek>, kekRows?: readonly KekVersionRow[]): Promise<void> {
    const version = a.currentKekVersion!;
    await this.reserveWraps(a.tenantId, workspaceId, version, segmentIds.length);
    const items = await this.keks.withKek(a.tenantId, workspaceId, version, (kek) =>
      segmentIds.map((segmentId) => {
        const dek = generateDek();
        try {
          return { id: randomUUID(), segmentId, kekVersion: version, wrapped: wrapDek(kek, dek, { tenantId: a.tenantId, workspaceId, segmentId, kekVersion: version }) };
        } finally {
          dek.fill(0);
        }
      }),
      kekRows,
    );
    const inserted = await this.repos.deks.insertIfAbsent(a.tenantId, workspaceId, items);
    for (const r of inserted) rows.set(r.segmentId, this.remember(workspaceId, r));
    // Losers of a concurrent create read the winner's row: one DEK per segment, whoever asked first.
    const lost = segmentIds.filter((s) => !rows.has(s));
    if (lost.length) for (const r of await this.repos.deks.findMany(a.tenantId, workspaceId, lost)) rows.set(r.segmentId, this.remember(workspaceId, r));
    if (segmentIds.some((s) => !rows.has(s))) throw new Error('DEK row vanished between insert and read');
  }

  /**
   * Wraps are counted per KEK version for the GCM nonce budget, reserved in chunks so the hot path does not
   * UPDATE kek_versions per DEK. A crash loses at most one chunk of headroom (over-counts, never under-counts).
   */
  private async reserveWraps(tenantId: string, workspaceId: string, version: number, n: number): Promise<void> {
    const key = [workspaceId, version].join(':'); // one flat string (a template literal keeps a cons chain alive in the map)
    const left = this.wrapBudget.get(key) ?? 0;
    if (left >= n) {
      this.wrapBudget.set(key, left - n);
      return;
    }
    const chunk = Math.max(this.opts.wrapReserveChunk, n);
    await this.repos.keks.reserveWraps(tenantId, workspaceId, version, chunk);
    this.wrapBudget.set(key, (this.wrapBudget.get(key) ?? 0) + chunk - n);
  }

  /** Converts a row to its compact cached form and caches it (FIFO by workspace beyond the bound). */
  private remember(workspaceId: string, r: DekRow): CachedDek {
    if (!Buffer.isBuffer(r.wrapped) || r.wrapped.length !== WRAPPED_DEK_BYTES) throw new DomainError(ErrorCode.KeyIntegrity, 'a stored wrapped DEK has the wrong length');
    const row = new CachedDek(r.id, Number(r.kekVersion), r.wrapped.toString('latin1'));
    const max = this.opts.wrappedCacheEntries;
    if (max <= 0) return row;
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
