import type { ProviderCallEvent, ProviderCallObserver } from '@app/provider-port';
import type { AuditLog, AuditRecord } from './audit-log';

/**
 * Buffers audit records per tenant and writes them in batches, off the request path. Provider-call events and
 * DEK issuance are high-volume; one transaction per flush per tenant keeps the chain cheap.
 *
 * Nothing is dropped: a batch that fails to write goes back to the front of its tenant's queue and is retried with
 * backoff. Memory stays bounded while the database is away: past `maxPendingPerTenant` records, a tenant's queue is
 * compacted into one record per (actor, action, target, outcome) that carries how many records it stands for and
 * the sum of their `count`s (DEK issuance), so every event is still accounted for.
 */
export class AuditBuffer {
  private pending = new Map<string, AuditRecord[]>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private failures = 0;

  constructor(
    private readonly log: Pick<AuditLog, 'appendMany'>,
    private readonly flushEveryMs = 250,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly maxPendingPerTenant = 10_000,
  ) {}

  push(tenantId: string, record: AuditRecord): void {
    const list = this.pending.get(tenantId);
    if (list) {
      list.push(record);
      if (list.length > this.maxPendingPerTenant) this.pending.set(tenantId, compact(list));
    } else this.pending.set(tenantId, [record]);
    this.schedule(this.flushEveryMs);
  }

  /** Records waiting to be written (all tenants). */
  pendingCount(): number {
    let n = 0;
    for (const l of this.pending.values()) n += l.length;
    return n;
  }

  /** Writes what is pending; resolves when this attempt is over (what failed stays queued and is retried). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(async () => {
      const batch = this.pending;
      this.pending = new Map();
      let failed = false;
      await Promise.all(
        [...batch].map(([tenantId, records]) =>
          this.log.appendMany(tenantId, records).catch((err: unknown) => {
            failed = true;
            this.requeue(tenantId, records);
            this.onError(err);
          }),
        ),
      );
      this.failures = failed ? this.failures + 1 : 0;
      if (failed) this.schedule(Math.min(30_000, this.flushEveryMs * 2 ** Math.min(this.failures, 7)));
    });
    return this.flushing;
  }

  private requeue(tenantId: string, records: AuditRecord[]): void {
    const newer = this.pending.get(tenantId) ?? [];
    const all = records.concat(newer);
    this.pending.set(tenantId, all.length > this.maxPendingPerTenant ? compact(all) : all);
  }

  private schedule(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }
}

/** One record per (actor, action, target, outcome), standing for every record it replaces. */
function compact(records: AuditRecord[]): AuditRecord[] {
  const groups = new Map<string, { first: AuditRecord; n: number; count: number; hasCount: boolean; from: number; to: number }>();
  for (const r of records) {
    const key = [r.actor, r.action, r.target, r.outcome].join('\u0000');
    const n = typeof r.details?.compacted === 'number' ? r.details.compacted : 1;
    const c = typeof r.details?.count === 'number' ? r.details.count : 0;
    const at = (r.at ?? new Date()).getTime();
    const from = typeof r.details?.from === 'string' ? Date.parse(r.details.from) : at;
    const g = groups.get(key);
    if (!g) groups.set(key, { first: r, n, count: c, hasCount: typeof r.details?.count === 'number', from, to: at });
    else {
      g.n += n;
      g.count += c;
      g.hasCount ||= typeof r.details?.count === 'number';
      g.from = Math.min(g.from, from);
      g.to = Math.max(g.to, at);
    }
  }
  return [...groups.values()].map((g) => ({
    actor: g.first.actor,
    action: g.first.action,
    target: g.first.target,
    outcome: g.first.outcome,
    at: new Date(g.to),
    details: { compacted: g.n, ...(g.hasCount ? { count: g.count } : {}), from: new Date(g.from).toISOString(), to: new Date(g.to).toISOString() },
  }));
}

/** Every provider call with a tenant in scope becomes an audit entry (operation, key, outcome, latency). */
export function auditProviderCalls(observer: ProviderCallObserver, buffer: AuditBuffer): () => void {
  return observer.subscribe((e: ProviderCallEvent) => {
    if (!e.tenantId) return;
    buffer.push(e.tenantId, {
      at: e.at,
      actor: 'keyhold',
      action: `kms.${e.provider}.${e.operation}`,
      target: e.target,
      outcome: e.outcome === 'ok' ? 'success' : 'failure',
      details: {
        ...(e.workspaceId ? { workspaceId: e.workspaceId } : {}),
        ...(e.outcome !== 'ok' ? { errorClass: e.outcome } : {}),
        ...(e.providerCode ? { providerCode: e.providerCode } : {}),
        latencyMs: Math.round(e.latencyMs * 100) / 100,
      },
    });
  });
}

/**
 * A per-(tenant, principal, workspace) DEK counter the hot path keeps a handle to: counting a DEK is an integer
 * add, with no key string built and no Map touched per request. The aggregator turns tallies into audit entries.
 */
export class IssuanceTally {
  /** DEKs counted in `minute` and not yet flushed. */
  n = 0;
  /** Minute (epoch ms / 60 000) the pending count belongs to. */
  minute = 0;
  /** @internal registered with the aggregator for the pending minute */
  registered = false;

  /** @internal use DekIssuanceAggregator.tally */
  constructor(
    private readonly owner: DekIssuanceAggregator,
    readonly tenantId: string,
    readonly principal: string,
    readonly workspaceId: string,
  ) {}

  /** Counts `k` DEKs issued at `nowMs`. */
  add(k: number, nowMs: number): void {
    const minute = Math.floor(nowMs / 60_000);
    if (minute !== this.minute || !this.registered) this.owner.roll(this, minute);
    this.n += k;
  }
}

/**
 * DEK issuance aggregated per (tenant, principal, workspace, minute): integers in memory, one audit entry per
 * key per minute, flushed periodically and on close.
 */
export class DekIssuanceAggregator {
  /** Tallies with a pending count, in registration order. */
  private active = new Set<IssuanceTally>();
  /** Handles by key, so every caller of one (tenant, principal, workspace) shares one tally. */
  private readonly handles = new Map<string, IssuanceTally>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly buffer: AuditBuffer,
    flushEveryMs = 10_000,
  ) {
    this.timer = setInterval(() => this.flush(false), flushEveryMs);
    this.timer.unref();
  }

  /** The shared tally of one (tenant, principal, workspace); keep it and call `add` per request. */
  tally(tenantId: string, principal: string, workspaceId: string): IssuanceTally {
    // join() builds one flat string; a template literal leaves a chain of cons strings in the map (~130 B more per key)
    const key = [tenantId, principal, workspaceId].join('\u0000');
    let t = this.handles.get(key);
    if (!t) {
      t = new IssuanceTally(this, tenantId, principal, workspaceId);
      this.handles.set(key, t);
    }
    return t;
  }

  count(tenantId: string, principal: string, workspaceId: string, n: number): void {
    this.tally(tenantId, principal, workspaceId).add(n, Date.now());
  }

  /** @internal a tally moves to a new minute: its previous minute's count becomes an audit entry. */
  roll(t: IssuanceTally, minute: number): void {
    if (t.registered && t.n > 0) this.emit(t);
    t.n = 0;
    t.minute = minute;
    if (!t.registered) {
      t.registered = true;
      this.active.add(t);
    }
  }

  /** Moves counts into the audit buffer; `all` = also the current minute (shutdown, tests). */
  flush(all = true): void {
    const now = Math.floor(Date.now() / 60_000);
    for (const t of this.active) {
      if (!all && t.minute >= now) continue;
      if (t.n > 0) this.emit(t);
      t.n = 0;
      // Idle tallies leave the active set and the handle index (a holder re-registers on its next add).
      t.registered = false;
      this.active.delete(t);
      const key = `${t.tenantId}\u0000${t.principal}\u0000${t.workspaceId}`;
      if (this.handles.get(key) === t && !all) this.handles.delete(key);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush(true);
  }

  private emit(t: IssuanceTally): void {
    this.buffer.push(t.tenantId, {
      actor: `service:${t.principal}`,
      action: 'dek.issued',
      target: `workspace:${t.workspaceId}`,
      outcome: 'success',
      details: { count: t.n, minute: new Date(t.minute * 60_000).toISOString() },
    });
  }
}
