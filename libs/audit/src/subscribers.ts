import type { ProviderCallEvent, ProviderCallObserver } from '@app/provider-port';
import type { AuditLog, AuditRecord } from './audit-log';

/**
 * Buffers audit records per tenant and writes them in batches, off the request path. Provider-call events and
 * DEK issuance are high-volume; one transaction per flush per tenant keeps the chain cheap.
 */
export class AuditBuffer {
  private pending = new Map<string, AuditRecord[]>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: AuditLog,
    private readonly flushEveryMs = 250,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  push(tenantId: string, record: AuditRecord): void {
    const list = this.pending.get(tenantId);
    if (list) list.push(record);
    else this.pending.set(tenantId, [record]);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushEveryMs);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.flushing.then(async () => {
      await Promise.all(
        [...batch].map(([tenantId, records]) => this.log.appendMany(tenantId, records).catch((err) => this.onError(err))),
      );
    });
    return this.flushing;
  }
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
 * DEK issuance aggregated per (tenant, principal, workspace, minute): a counter in memory, one audit entry per
 * key per minute, flushed periodically and on close.
 */
export class DekIssuanceAggregator {
  private counts = new Map<string, { tenantId: string; principal: string; workspaceId: string; minute: number; count: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly buffer: AuditBuffer,
    flushEveryMs = 10_000,
  ) {
    this.timer = setInterval(() => this.flush(false), flushEveryMs);
    this.timer.unref();
  }

  count(tenantId: string, principal: string, workspaceId: string, n: number): void {
    const minute = Math.floor(Date.now() / 60_000);
    const key = `${tenantId}\u0000${principal}\u0000${workspaceId}\u0000${minute}`;
    const row = this.counts.get(key);
    if (row) row.count += n;
    else this.counts.set(key, { tenantId, principal, workspaceId, minute, count: n });
  }

  /** Moves counts into the audit buffer; `all` = also the current minute (shutdown, tests). */
  flush(all = true): void {
    const now = Math.floor(Date.now() / 60_000);
    for (const [key, r] of this.counts) {
      if (!all && r.minute >= now) continue;
      this.counts.delete(key);
      this.buffer.push(r.tenantId, {
        actor: `service:${r.principal}`,
        action: 'dek.issued',
        target: `workspace:${r.workspaceId}`,
        outcome: 'success',
        details: { count: r.count, minute: new Date(r.minute * 60_000).toISOString() },
      });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush(true);
  }
}
