import { inSpan } from '@app/telemetry';
import type { ErrorClass } from './errors';
import { ProviderError } from './errors';

/** One provider call as measured by the single choke point every binding goes through. */
export interface ProviderCallEvent {
  readonly provider: string;
  /** Logical operation: describe, wrap, unwrap, assume_role, get_token, list_versions, ... */
  readonly operation: string;
  /** Canonical key id or role ARN; never key material. */
  readonly target: string;
  readonly tenantId?: string;
  readonly workspaceId?: string;
  readonly outcome: 'ok' | ErrorClass;
  readonly providerCode?: string;
  readonly latencyMs: number;
  readonly at: Date;
}

export type ProviderCallListener = (event: ProviderCallEvent) => void;

/** A call answered by the replica key because the primary's region answered a transient error (replica.ts). */
export interface FailoverEvent {
  readonly provider: string;
  /** unwrap (the DEK path's cold unwraps, jobs) or describe. */
  readonly operation: string;
  /** The primary's transient class: throttled or unavailable (5xx, timeout, unreachable). */
  readonly fromClass: ErrorClass;
  readonly providerCode?: string;
  readonly tenantId?: string;
  readonly workspaceId?: string;
  readonly at: Date;
}

export type FailoverListener = (event: FailoverEvent) => void;

/**
 * Every provider call is measured here (latency, outcome class) and fanned out to subscribers: metrics and
 * audit subscribe; bindings never talk to them directly.
 */
export class ProviderCallObserver {
  private readonly listeners = new Set<ProviderCallListener>();
  private readonly failoverListeners = new Set<FailoverListener>();

  subscribe(listener: ProviderCallListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Failovers to a replica key: metrics and logs subscribe. */
  onFailover(listener: FailoverListener): () => void {
    this.failoverListeners.add(listener);
    return () => this.failoverListeners.delete(listener);
  }

  failover(event: FailoverEvent): void {
    for (const l of this.failoverListeners) {
      try {
        l(event);
      } catch {
        // a failing subscriber must never break a KMS call
      }
    }
  }

  async measure<T>(
    meta: { provider: string; operation: string; target: string; tenantId?: string; workspaceId?: string },
    call: () => Promise<T>,
  ): Promise<T> {
    // One span per provider call (a no-op unless tracing is configured): cloud, operation, key id, outcome class.
    return inSpan(
      `kms ${meta.provider}.${meta.operation}`,
      {
        'keyhold.cloud': meta.provider,
        'keyhold.kms.operation': meta.operation,
        'keyhold.kms.target': meta.target,
        ...(meta.tenantId ? { 'keyhold.tenant_id': meta.tenantId } : {}),
        ...(meta.workspaceId ? { 'keyhold.workspace_id': meta.workspaceId } : {}),
      },
      async (span) => {
        const started = process.hrtime.bigint();
        try {
          const result = await call();
          this.emit({ ...meta, outcome: 'ok', latencyMs: elapsedMs(started), at: new Date() });
          span.setAttribute('keyhold.kms.outcome', 'ok');
          return result;
        } catch (err) {
          const outcome: ErrorClass = err instanceof ProviderError ? err.errorClass : 'ambiguous';
          const providerCode = err instanceof ProviderError ? err.providerCode : undefined;
          this.emit({ ...meta, outcome, providerCode, latencyMs: elapsedMs(started), at: new Date() });
          span.setAttribute('keyhold.kms.outcome', outcome);
          if (providerCode) span.setAttribute('keyhold.kms.provider_code', providerCode);
          throw err;
        }
      },
      (err) => (err instanceof ProviderError ? err.errorClass : 'ambiguous'),
    );
  }

  private emit(event: ProviderCallEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a failing subscriber must never break a KMS call
      }
    }
  }
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
