import { randomUUID } from 'node:crypto';
import { generateDek, unwrapDek, wrapDek } from '@app/crypto';
import type { DekIssuanceAggregator } from '@app/audit';
import type { DekRow, KeyStateName, Repositories } from '@app/persistence';
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

interface Access {
  readonly tenantId: string;
  readonly inScope: boolean;
  readonly keyState: KeyStateName;
  readonly currentKekVersion: number | null;
  readonly expiresAt: number;
}

const SEGMENT_RE = /^[\x21-\x7e]{1,256}$/;

export interface DekServiceOptions {
  readonly stateCacheTtlMs: number;
  readonly wrappedCacheEntries: number;
  readonly wrapReserveChunk: number;
  readonly batchMax: number;
}

/**
 * The internal DEK API's logic (get-or-create). Warm path: one Map lookup for the workspace state + scope, one
 * for the wrapped DEK row, the KEK from the KEK cache, one AES-GCM unwrap — no SQL, no KMS.
 * Only *wrapped* DEK rows are cached; plaintext exists only for the request that returns it.
 */
export class DekService {
  private readonly access = new Map<string, Access>();
  private readonly wrapped = new Map<string, DekRow & { workspaceId: string }>();
  private readonly wrapBudget = new Map<string, number>();

  constructor(
    private readonly repos: Repositories,
    private readonly keks: KekResolver,
    private readonly opts: DekServiceOptions,
    private readonly issuance?: DekIssuanceAggregator,
    private readonly observeStateVersion?: (workspaceId: string, stateVersion: number) => void,
  ) {}

  async getDeks(p: DekPrincipal, workspaceId: string, segmentIds: readonly string[]): Promise<IssuedDek[]> {
    if (segmentIds.length === 0) return [];
    if (segmentIds.length > this.opts.batchMax)
      throw new DomainError(ErrorCode.ValidationFailed, `at most ${this.opts.batchMax} segmentIds per request`);
    for (const s of segmentIds)
      if (typeof s !== 'string' || !SEGMENT_RE.test(s))
        throw new DomainError(ErrorCode.ValidationFailed, 'segment ids are 1-256 printable ASCII characters without spaces');
    const a = await this.accessFor(p, workspaceId);

    const rows = new Map<string, DekRow>();
    let missing: string[] = [];
    for (const s of segmentIds) {
      const hit = this.wrapped.get(`${workspaceId}\u0000${s}`);
      if (hit) rows.set(s, hit);
      else if (!rows.has(s)) missing.push(s);
    }
    if (missing.length) {
      missing = [...new Set(missing)];
      for (const r of await this.repos.deks.findMany(a.tenantId, workspaceId, missing)) this.remember(workspaceId, r, rows);
      const toCreate = missing.filter((s) => !rows.has(s));
      if (toCreate.length) await this.create(a, workspaceId, toCreate, rows);
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
      await this.keks.withKek(a.tenantId, workspaceId, version, (kek) => {
        for (const s of segs) {
          if (out.has(s)) continue;
          const r = rows.get(s)!;
          const dek = unwrapDek(kek, r.wrapped, { tenantId: a.tenantId, workspaceId, segmentId: s, kekVersion: version });
          out.set(s, { segmentId: s, dek: dek.toString('base64'), dekId: r.id, kekVersion: version });
          dek.fill(0);
        }
      });
    }
    this.issuance?.count(a.tenantId, p.sub, workspaceId, segmentIds.length);
    return segmentIds.map((s) => out.get(s)!);
  }

  /** Drop cached state and wrapped rows of a workspace (KEK cache invalidation listener). */
  forgetWorkspace(workspaceId: string): void {
    for (const k of this.access.keys()) if (k.endsWith(`\u0000${workspaceId}`)) this.access.delete(k);
    for (const [k, r] of this.wrapped) if (r.workspaceId === workspaceId) this.wrapped.delete(k);
    for (const k of this.wrapBudget.keys()) if (k.startsWith(`${workspaceId}:`)) this.wrapBudget.delete(k);
  }

  private async accessFor(p: DekPrincipal, workspaceId: string): Promise<Access> {
    const key = `${p.sub}\u0000${workspaceId}`;
    let a = this.access.get(key);
    if (!a || a.expiresAt <= Date.now() || a.tenantId !== p.tid) {
      const w = await this.repos.workspaces.findForPrincipal(p.tid, workspaceId, p.sub);
      a = {
        tenantId: p.tid,
        inScope: !!w?.inScope,
        keyState: w?.keyState ?? 'unbound',
        currentKekVersion: w?.currentKekVersion ?? null,
        expiresAt: Date.now() + this.opts.stateCacheTtlMs,
      };
      if (w) this.observeStateVersion?.(workspaceId, Number(w.stateVersion));
      if (this.access.size > 100_000) this.access.clear();
      this.access.set(key, a);
    }
    // Outside the principal's scope looks exactly like a workspace that does not exist.
    if (!a.inScope) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    if (a.keyState === 'shredded') throw new DomainError(ErrorCode.WorkspaceShredded, 'the workspace keys were shredded');
    if (a.keyState === 'unbound' || a.keyState === 'provisioning' || a.currentKekVersion === null)
      throw new DomainError(ErrorCode.WorkspaceUnbound, 'the workspace is not bound to a key configuration yet');
    return a;
  }

  private async create(a: Access, workspaceId: string, segmentIds: string[], rows: Map<string, DekRow>): Promise<void> {
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
    );
    const inserted = await this.repos.deks.insertIfAbsent(a.tenantId, workspaceId, items);
    for (const r of inserted) this.remember(workspaceId, r, rows);
    // Losers of a concurrent create read the winner's row: one DEK per segment, whoever asked first.
    const lost = segmentIds.filter((s) => !rows.has(s));
    if (lost.length) for (const r of await this.repos.deks.findMany(a.tenantId, workspaceId, lost)) this.remember(workspaceId, r, rows);
    if (segmentIds.some((s) => !rows.has(s))) throw new Error('DEK row vanished between insert and read');
  }

  /**
   * Wraps are counted per KEK version for the GCM nonce budget, reserved in chunks so the hot path does not
   * UPDATE kek_versions per DEK. A crash loses at most one chunk of headroom (over-counts, never under-counts).
   */
  private async reserveWraps(tenantId: string, workspaceId: string, version: number, n: number): Promise<void> {
    const key = `${workspaceId}:${version}`;
    const left = this.wrapBudget.get(key) ?? 0;
    if (left >= n) {
      this.wrapBudget.set(key, left - n);
      return;
    }
    const chunk = Math.max(this.opts.wrapReserveChunk, n);
    await this.repos.keks.reserveWraps(tenantId, workspaceId, version, chunk);
    this.wrapBudget.set(key, (this.wrapBudget.get(key) ?? 0) + chunk - n);
  }

  private remember(workspaceId: string, r: DekRow, rows: Map<string, DekRow>): void {
    const row = { ...r, kekVersion: Number(r.kekVersion), workspaceId };
    rows.set(r.segmentId, row);
    if (this.opts.wrappedCacheEntries <= 0) return;
    if (this.wrapped.size >= this.opts.wrappedCacheEntries) this.wrapped.delete(this.wrapped.keys().next().value as string);
    this.wrapped.set(`${workspaceId}\u0000${r.segmentId}`, row);
  }
}
