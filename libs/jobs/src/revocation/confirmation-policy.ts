import type { ErrorClass } from '@app/provider-port';
import { isRevocationCandidate, isTransient } from '@app/provider-port';

/**
 * The shred decision, as a pure function (docs/ARCHITECTURE.md, "Failure semantics").
 *
 * A workspace is shredded only when ALL of these hold:
 *  - the last `confirmations` probes of its key configuration were revocation candidates, with no success in
 *    between (transient and our-fault results neither confirm nor refute, they are skipped);
 *  - those probes span at least `windowMs` (longer than IAM propagation, so a fresh role briefly denied by
 *    eventual consistency never shreds anything);
 *  - the positive control does not say Keyhold itself is unhealthy (if our own credentials or the provider
 *    broke, every customer "revokes" at once: that is our outage, not their revocation).
 */
export interface ConfirmationPolicy {
  /** Consecutive revocation-class probe results required. */
  readonly confirmations: number;
  /** Minimum time between the first and the last of them, ms. */
  readonly windowMs: number;
}

export type ProbeResult =
  | { readonly kind: 'ok' }
  | { readonly kind: 'failed'; readonly errorClass: ErrorClass };

/** What Keyhold knows about its own health on this provider, independent of the customer's key. */
export type ControlVerdict = 'healthy' | 'unhealthy' | 'unknown';

export interface AccessRecord {
  readonly consecutiveDefinitive: number;
  readonly firstDefinitiveAt: Date | null;
  readonly lastErrorClass: ErrorClass | null;
}

export const CLEAN_RECORD: AccessRecord = { consecutiveDefinitive: 0, firstDefinitiveAt: null, lastErrorClass: null };

/**
 * - `restore`: access works; suspect/degraded workspaces go back to active.
 * - `degraded`: a transient or our-fault failure; keep serving from cache, retry with backoff, never shred.
 * - `suspect`: a revocation candidate not yet confirmed; workspaces go to access_suspect.
 * - `shred`: confirmed; drop every plaintext KEK of the bound workspaces.
 */
export type Verdict = 'restore' | 'degraded' | 'suspect' | 'shred';

export interface Decision {
  readonly verdict: Verdict;
  readonly record: AccessRecord;
  /** Why, in words for the audit log and operation row. */
  readonly reason: string;
}

export function validatePolicy(policy: ConfirmationPolicy): void {
  if (!Number.isInteger(policy.confirmations) || policy.confirmations < 1) {
    throw new RangeError(`confirmations must be an integer >= 1, got ${policy.confirmations}`);
  }
  if (!Number.isFinite(policy.windowMs) || policy.windowMs < 0) {
    throw new RangeError(`confirmation window must be >= 0 ms, got ${policy.windowMs}`);
  }
}

export function decide(
  previous: AccessRecord,
  result: ProbeResult,
  now: Date,
  policy: ConfirmationPolicy,
  control: ControlVerdict,
  /** Why the control is unhealthy, when a more specific witness than the aggregate said so (the vendor canary). */
  controlReason?: string,
): Decision {
  validatePolicy(policy);
  if (result.kind === 'ok') {
    return { verdict: 'restore', record: CLEAN_RECORD, reason: 'probe succeeded: describe and unwrap work' };
  }
  const cls = result.errorClass;
  if (!isRevocationCandidate(cls)) {
    const why = isTransient(cls) ? 'transient provider failure' : 'failure that is not a revocation signal';
    return {
      verdict: 'degraded',
      record: { ...previous, lastErrorClass: cls },
      reason: `${why} (${cls}); never shreds, retrying with backoff`,
    };
  }

  const first = previous.firstDefinitiveAt ?? now;
  const record: AccessRecord = {
    consecutiveDefinitive: previous.consecutiveDefinitive + 1,
    firstDefinitiveAt: first,
    lastErrorClass: cls,
  };
  const spanMs = now.getTime() - first.getTime();
  const counted = `${record.consecutiveDefinitive}/${policy.confirmations} revocation-class results over ${Math.round(spanMs / 1000)} s (window ${Math.round(policy.windowMs / 1000)} s)`;
  if (record.consecutiveDefinitive < policy.confirmations || spanMs < policy.windowMs) {
    return { verdict: 'suspect', record, reason: `${cls}: ${counted}; awaiting confirmation` };
  }
  if (control === 'unhealthy') {
    return {
      verdict: 'suspect',
      record,
      reason: `${cls}: ${counted}, but ${controlReason ?? "the positive control says Keyhold's own access to this provider is failing"}; holding`,
    };
  }
  return { verdict: 'shred', record, reason: `${cls}: confirmed, ${counted}` };
}
