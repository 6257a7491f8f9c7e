import type { IssuanceTally } from '@app/audit';
import { DomainError, ErrorCode } from './errors';

/**
 * Key access justifications: why a DEK was asked for. A DEK request may carry `Keyhold-Access-Reason: <REASON>`
 * (one of a closed set) and `Keyhold-Access-Ticket: <reference>`; each service principal has the reasons it may
 * give, and each workspace's policy may refuse reasons or require one. Usage is counted per (principal,
 * workspace, reason, minute) into the audit log.
 *
 * The warm DEK path spends integer operations here, nothing else: the request's reason becomes a slot number by
 * one Map lookup on the header's string, and the (principal, workspace) policy is a bit mask folded into the
 * DEK service's cached state and scope entry, read with the same Postgres row (`reasonMask`). Hand-written on
 * purpose: the budget is 1 µs per request (bench `dek_fetch.with_reason_ratio`), which rules out a schema
 * validator per request.
 */
export const ACCESS_REASONS = [
  'CUSTOMER_INITIATED',
  'SCHEDULED_JOB',
  'BACKUP',
  'MIGRATION',
  'VENDOR_SUPPORT',
  'EMERGENCY',
] as const;
export type AccessReason = (typeof ACCESS_REASONS)[number];

/**
 * What a new service principal may give. The vendor's support staff and emergency (break-glass) access are uses
 * a customer must agree to: a key admin adds them to a principal explicitly.
 */
export const DEFAULT_PRINCIPAL_REASONS: readonly AccessReason[] = [
  'CUSTOMER_INITIATED',
  'SCHEDULED_JOB',
  'BACKUP',
  'MIGRATION',
];

/** The slot of a request that gave no reason; reason `ACCESS_REASONS[i]` is slot i + 1. */
export const NO_REASON = 0;
/** How a slot is named in audit records and reports ("NONE" for no reason given). */
export const REASON_SLOT_NAMES: readonly string[] = ['NONE', ...ACCESS_REASONS];

export const isAccessReason = (s: unknown): s is AccessReason =>
  typeof s === 'string' && (ACCESS_REASONS as readonly string[]).includes(s);

const SLOTS = new Map<string, number>(ACCESS_REASONS.map((r, i) => [r, i + 1]));
/** Bounded length and charset: a ticket id from the caller's ticketing system, never free text. */
const TICKET_RE = /^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/;

/** The request's reason slot; an unknown, repeated or empty header is a 400 (the set is closed). */
export function reasonSlot(header: string | string[] | undefined): number {
  if (header === undefined) return NO_REASON;
  const slot = typeof header === 'string' ? SLOTS.get(header) : undefined;
  if (slot !== undefined) return slot;
  throw new DomainError(
    ErrorCode.InvalidAccessReason,
    `Keyhold-Access-Reason must be one of ${ACCESS_REASONS.join(', ')}`,
  );
}

/** The request's ticket reference (undefined when none): 1-64 characters `A-Z a-z 0-9 . _ : # / -`, with a reason. */
export function accessTicket(header: string | string[] | undefined, slot: number): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !TICKET_RE.test(header))
    throw new DomainError(
      ErrorCode.InvalidAccessTicket,
      'Keyhold-Access-Ticket must be 1-64 characters (letters, digits, . _ : # / -), starting with a letter or digit',
    );
  if (slot === NO_REASON)
    throw new DomainError(ErrorCode.InvalidAccessTicket, 'Keyhold-Access-Ticket needs a Keyhold-Access-Reason');
  return header;
}

/** The policy inputs a DEK state read returns beside state and scope. */
export interface ReasonPolicyRow {
  /** The principal's allowed reasons (null: the principal does not exist). */
  readonly principalReasons?: readonly string[] | null;
  readonly deniedReasons?: readonly string[] | null;
  readonly reasonRequired?: boolean | null;
}

/** Bit `slot` of the low byte: the principal may give it; of the next byte: the workspace accepts it. */
const WORKSPACE_SHIFT = 8;

/** The (principal, workspace) policy as one integer, computed once per state read. */
export function reasonMask(row: ReasonPolicyRow | null | undefined): number {
  if (!row) return 0;
  let principal = 1 << NO_REASON; // giving no reason is the workspace's call, not the principal's
  for (const r of row.principalReasons ?? []) principal |= 1 << (SLOTS.get(r) ?? 31);
  let workspace = row.reasonRequired ? 0 : 1 << NO_REASON;
  for (let slot = 1; slot <= ACCESS_REASONS.length; slot++) workspace |= 1 << slot;
  for (const r of row.deniedReasons ?? []) workspace &= ~(1 << (SLOTS.get(r) ?? 31));
  return (principal & 0xff) | ((workspace & 0xff) << WORKSPACE_SHIFT);
}

/**
 * Admits the request's reason under a (principal, workspace) mask, or counts the refusal on the pair's tally
 * (aggregated per minute into one audit record per reason, so a flood of refused requests cannot flood the log)
 * and throws 403 REASON_REQUIRED / REASON_DENIED. Call after the scope check: a workspace outside the principal's
 * scope answers 404 as before, and is not audited for it.
 */
export function admitReason(
  mask: number,
  slot: number,
  tally: IssuanceTally | null,
  nowMs: number,
  ticket: string | undefined,
): void {
  if (((mask >>> slot) & (mask >>> (slot + WORKSPACE_SHIFT)) & 1) === 1) return;
  const required = slot === NO_REASON;
  const code = required ? ErrorCode.ReasonRequired : ErrorCode.ReasonDenied;
  tally?.deny(slot, nowMs, code, ticket);
  if (required)
    throw new DomainError(code, "this workspace's policy requires a Keyhold-Access-Reason on every DEK request");
  const byPrincipal = ((mask >>> slot) & 1) === 0;
  throw new DomainError(
    code,
    byPrincipal
      ? `this service principal may not give the reason ${REASON_SLOT_NAMES[slot]} (a key admin sets its allowed reasons)`
      : `this workspace's policy refuses the reason ${REASON_SLOT_NAMES[slot]}`,
  );
}
