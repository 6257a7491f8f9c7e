import type { ErrorClass } from '@app/provider-port';
import { isRevocationCandidate, isTransient } from '@app/provider-port';

/**
 * The shred decision, as a pure function (docs/ARCHITECTURE.md, "Failure semantics").
 *
 * A workspace is shredded only when the revocation is confirmed, one of two ways:
 *  (a) a clean run: the last `confirmations` probes of its key configuration were revocation candidates, with no
 *      success since the first revocation-class answer of the episode (transient and our-fault results neither
 *      confirm nor refute, they are skipped), and those probes span at least `windowMs` (longer than IAM
 *      propagation, so a fresh role briefly denied by eventual consistency never shreds anything);
 *  (b) mixed answers: while a change propagates the clouds answer old and new at random. A revocation *episode*
 *      opens at the first revocation-class answer and closes only when successes alone have been seen for
 *      `windowMs`. Once an episode has seen a success, only its majority can confirm: the episode is at least
 *      `flapWindowMs` old (longer than the longest documented propagation), the current answer is a revocation
 *      candidate, and at least half of the episode's definitive answers (at least `confirmations`) were;
 * and, either way, the positive control does not say Keyhold itself is unhealthy (if our own credentials or the
 * provider broke, every customer "revokes" at once: that is our outage, not their revocation).
 *
 * Bounds (docs/ARCHITECTURE.md, "Propagation flapping"): a change undone with all its denials inside less than
 * `windowMs` never shreds; the majority rule never shreds a change whose denials stop within `flapWindowMs` of the
 * first; a real revocation whose propagation flaps for F shreds no later than max(`flapWindowMs`, 2F) plus one probe
 * interval after its first denial, as long as at most half the answers during the flapping are stale.
 */
export interface ConfirmationPolicy {
  /** Consecutive revocation-class probe results required. */
  readonly confirmations: number;
  /** Minimum time between the first and the last of them, ms. */
  readonly windowMs: number;
  /** Age an episode of mixed answers must reach before its majority can confirm, ms; default 4 × windowMs. */
  readonly flapWindowMs?: number;
}

/** The flapping window a policy uses. */
export function flapWindowOf(policy: ConfirmationPolicy): number {
  return policy.flapWindowMs ?? 4 * policy.windowMs;
}

export type ProbeResult = { readonly kind: 'ok' } | { readonly kind: 'failed'; readonly errorClass: ErrorClass };

/** What Keyhold knows about its own health on this provider, independent of the customer's key. */
export type ControlVerdict = 'healthy' | 'unhealthy' | 'unknown';

export interface AccessRecord {
  readonly consecutiveDefinitive: number;
  readonly firstDefinitiveAt: Date | null;
  readonly lastErrorClass: ErrorClass | null;
  /** First revocation-class answer of the open episode (null: none open). */
  readonly episodeStartedAt?: Date | null;
  /** Revocation-class and successful answers seen during the open episode. */
  readonly episodeDenials?: number;
  readonly episodeAllows?: number;
  /** First success of the current run of successes inside the episode (a denial ends the run). */
  readonly allowRunSince?: Date | null;
}

export const CLEAN_RECORD: AccessRecord = {
  consecutiveDefinitive: 0,
  firstDefinitiveAt: null,
  lastErrorClass: null,
  episodeStartedAt: null,
  episodeDenials: 0,
  episodeAllows: 0,
  allowRunSince: null,
};

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
  if (
    policy.flapWindowMs !== undefined &&
    !(Number.isFinite(policy.flapWindowMs) && policy.flapWindowMs >= policy.windowMs)
  ) {
    throw new RangeError(
      `flapping window must be >= the confirmation window (${policy.windowMs} ms), got ${policy.flapWindowMs}`,
    );
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
    const open = previous.episodeStartedAt ?? null;
    if (!open) return { verdict: 'restore', record: CLEAN_RECORD, reason: 'probe succeeded: describe and unwrap work' };
    // An allow restarts the consecutive count, but the episode stays open until allows alone span a window.
    const runSince = previous.allowRunSince ?? now;
    if (now.getTime() - runSince.getTime() >= policy.windowMs)
      return {
        verdict: 'restore',
        record: CLEAN_RECORD,
        reason: 'probe succeeded: describe and unwrap work; access has held for a whole window',
      };
    return {
      verdict: 'restore',
      record: {
        ...CLEAN_RECORD,
        episodeStartedAt: open,
        episodeDenials: previous.episodeDenials ?? 0,
        episodeAllows: (previous.episodeAllows ?? 0) + 1,
        allowRunSince: runSince,
      },
      reason:
        'probe succeeded: describe and unwrap work (answers have been mixed: watching until access holds for a whole window)',
    };
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
  const episodeStartedAt = previous.episodeStartedAt ?? now;
  const record: AccessRecord = {
    consecutiveDefinitive: previous.consecutiveDefinitive + 1,
    firstDefinitiveAt: first,
    lastErrorClass: cls,
    episodeStartedAt,
    episodeDenials: (previous.episodeDenials ?? 0) + 1,
    episodeAllows: previous.episodeAllows ?? 0,
    allowRunSince: null,
  };
  const spanMs = now.getTime() - first.getTime();
  const denials = record.episodeDenials ?? 0;
  const allows = record.episodeAllows ?? 0;
  // A success inside the episode means the answers flap: from then on only the episode's majority can confirm.
  const consecutive = allows === 0 && record.consecutiveDefinitive >= policy.confirmations && spanMs >= policy.windowMs;
  const episodeMs = now.getTime() - episodeStartedAt.getTime();
  const majority =
    allows > 0 &&
    denials >= policy.confirmations &&
    2 * denials >= denials + allows &&
    episodeMs >= flapWindowOf(policy);
  const counted = majority
    ? `${denials} of ${denials + allows} definitive results over ${Math.round(episodeMs / 1000)} s were revocation-class (flapping window ${Math.round(flapWindowOf(policy) / 1000)} s)`
    : `${record.consecutiveDefinitive}/${policy.confirmations} revocation-class results over ${Math.round(spanMs / 1000)} s (window ${Math.round(policy.windowMs / 1000)} s)`;
  if (!consecutive && !majority) {
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
