import type { ProviderCallEvent, ProviderCallObserver } from '@app/provider-port';
import type { AuditLog, AuditRecord } from './audit-log';

/**
 * Buffers audit records per tenant and writes them in batches, off the request path. Provider-call events and
 * DEK issuance are high-volume; one transaction per flush per tenant keeps the chain cheap.
 *
 * Nothing is dropped: a batch that fails to write goes back to the front of its tenant's queue and is retried with
 * backoff. Memory stays bounded while the database is away: past `maxPendingPerTenant` records, a tenant's queue is
 * compacted into one record per (actor, action, target, outcome, reason, refusal code) that carries how many records it stands for and
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

/** One record per (actor, action, target, outcome, reason, code), standing for every record it replaces. */
function compact(records: AuditRecord[]): AuditRecord[] {
  const groups = new Map<
    string,
    {
      first: AuditRecord;
      n: number;
      count: number;
      hasCount: boolean;
      from: number;
      to: number;
      reason: string;
      code: string;
    }
  >();
  for (const r of records) {
    const reason = typeof r.details?.reason === 'string' ? r.details.reason : '';
    const code = typeof r.details?.code === 'string' ? r.details.code : '';
    const key = [r.actor, r.action, r.target, r.outcome, reason, code].join('\u0000');
    const n = typeof r.details?.compacted === 'number' ? r.details.compacted : 1;
    const c = typeof r.details?.count === 'number' ? r.details.count : 0;
    const at = (r.at ?? new Date()).getTime();
    const from = typeof r.details?.from === 'string' ? Date.parse(r.details.from) : at;
    const g = groups.get(key);
    if (!g)
      groups.set(key, {
        first: r,
        n,
        count: c,
        hasCount: typeof r.details?.count === 'number',
        from,
        to: at,
        reason,
        code,
      });
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
    details: {
      compacted: g.n,
      ...(g.hasCount ? { count: g.count } : {}),
      // key use by reason stays countable after compaction (the report reads reason and code)
      ...(g.reason ? { reason: g.reason } : {}),
      ...(g.code ? { code: g.code } : {}),
      from: new Date(g.from).toISOString(),
      to: new Date(g.to).toISOString(),
    },
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

/** Distinct ticket references kept per (tally, reason, minute); more are counted, not listed. */
const MAX_TICKETS = 16;

/** Ticket references seen in one minute for one reason (allocated only when a request carries one). */
class TicketSet {
  readonly ids = new Set<string>();
  omitted = 0;
  note(ticket: string): void {
    if (this.ids.has(ticket)) return;
    if (this.ids.size < MAX_TICKETS) this.ids.add(ticket);
    else this.omitted++;
  }
}

/**
 * A per-(tenant, principal, workspace) DEK counter the hot path keeps a handle to: counting a DEK is an integer
 * add into a per-reason slot, with no key string built and no Map touched per request. The aggregator turns
 * tallies into audit entries, one per (reason, minute) for issued DEKs and one per (reason, minute) for refusals.
 */
export class IssuanceTally {
  /** DEKs counted in `minute` and not yet flushed (all reasons). */
  n = 0;
  /** Requests refused in `minute` and not yet flushed (all reasons). */
  refused = 0;
  /**
   * Per reason slot: DEKs issued with that reason (indexes 1..width-1; slot 0, no reason, is `n` minus the rest), then
   * requests refused per slot (indexes width..2·width-1). Allocated at the first request that gives a reason or is
   * refused, then reused: a tally that only ever counts requests without a reason costs what it did before reasons.
   */
  slots: number[] | null = null;
  /** The refusal's code per slot (allocated at the first refusal). */
  deniedCode: string[] | null = null;
  /** Ticket references by slot (issued) and slot + 64 (refused); null while no request carried one. */
  tickets: Map<number, TicketSet> | null = null;
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
    /** How many reason slots there are (slot 0 = no reason given). */
    readonly width: number,
  ) {}

  /** Counts `k` DEKs issued at `nowMs` for the reason in `slot` (0: none given), with the request's ticket. */
  add(k: number, nowMs: number, slot = 0, ticket?: string): void {
    const minute = Math.floor(nowMs / 60_000);
    if (minute !== this.minute || !this.registered) this.owner.roll(this, minute);
    this.n += k;
    if (slot !== 0) (this.slots ??= new Array<number>(2 * this.width).fill(0))[slot] += k;
    if (ticket !== undefined) this.note(slot, ticket);
  }

  /** Counts one refused request (its reason's slot and the refusal's code). */
  deny(slot: number, nowMs: number, code: string, ticket?: string): void {
    const minute = Math.floor(nowMs / 60_000);
    if (minute !== this.minute || !this.registered) this.owner.roll(this, minute);
    this.refused++;
    (this.slots ??= new Array<number>(2 * this.width).fill(0))[this.width + slot]++;
    (this.deniedCode ??= new Array<string>(this.width).fill(''))[slot] = code;
    if (ticket !== undefined) this.note(slot + 64, ticket);
  }

  /** DEKs issued with the reason in `slot` in the pending minute. */
  issuedFor(slot: number): number {
    const s = this.slots;
    if (s === null) return slot === 0 ? this.n : 0;
    if (slot !== 0) return s[slot];
    let rest = 0;
    for (let i = 1; i < this.width; i++) rest += s[i];
    return this.n - rest;
  }

  /** Requests refused with the reason in `slot` in the pending minute. */
  refusedFor(slot: number): number {
    return this.slots === null ? 0 : this.slots[this.width + slot];
  }

  /** @internal the pending minute was emitted */
  reset(): void {
    this.n = 0;
    this.refused = 0;
    this.slots?.fill(0);
    this.tickets = null;
  }

  private note(key: number, ticket: string): void {
    this.tickets ??= new Map();
    let t = this.tickets.get(key);
    if (!t) {
      t = new TicketSet();
      this.tickets.set(key, t);
    }
    t.note(ticket);
  }
}

/**
 * DEK issuance aggregated per (tenant, principal, workspace, reason, minute): integers in memory, one audit entry
 * per key per minute (`dek.issued`, and `dek.access_denied` for refused reasons), flushed periodically and on close.
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
    /** The name of each reason slot as recorded (`details.reason`); slot 0 is "no reason given". */
    private readonly reasonNames: readonly string[] = ['NONE'],
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
      t = new IssuanceTally(this, tenantId, principal, workspaceId, this.reasonNames.length);
      this.handles.set(key, t);
    }
    return t;
  }

  count(tenantId: string, principal: string, workspaceId: string, n: number, slot = 0, ticket?: string): void {
    this.tally(tenantId, principal, workspaceId).add(n, Date.now(), slot, ticket);
  }

  /** @internal a tally moves to a new minute: its previous minute's count becomes an audit entry. */
  roll(t: IssuanceTally, minute: number): void {
    if (t.registered) this.emit(t);
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
      this.emit(t);
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

  /** One record per reason with a pending count (issued, then refused); resets the tally's counters. */
  private emit(t: IssuanceTally): void {
    if (t.n === 0 && t.refused === 0) return;
    const minute = new Date(t.minute * 60_000).toISOString();
    for (let slot = 0; slot < t.width; slot++) {
      const issued = t.issuedFor(slot);
      const refused = t.refusedFor(slot);
      if (issued > 0)
        this.buffer.push(t.tenantId, {
          actor: `service:${t.principal}`,
          action: 'dek.issued',
          target: `workspace:${t.workspaceId}`,
          outcome: 'success',
          details: { count: issued, minute, reason: this.reasonNames[slot] ?? String(slot), ...tickets(t, slot) },
        });
      if (refused > 0)
        this.buffer.push(t.tenantId, {
          actor: `service:${t.principal}`,
          action: 'dek.access_denied',
          target: `workspace:${t.workspaceId}`,
          outcome: 'failure',
          details: {
            count: refused,
            minute,
            reason: this.reasonNames[slot] ?? String(slot),
            code: t.deniedCode?.[slot] ?? '',
            ...tickets(t, slot + 64),
          },
        });
    }
    t.reset();
  }
}

function tickets(t: IssuanceTally, key: number): { tickets?: string[]; ticketsOmitted?: number } {
  const s = t.tickets?.get(key);
  if (!s) return {};
  return { tickets: [...s.ids].sort(), ...(s.omitted ? { ticketsOmitted: s.omitted } : {}) };
}
