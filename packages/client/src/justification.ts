import { KeyholdError } from './errors';

/** Why a DEK is asked for (the server's closed set; `Keyhold-Access-Reason`). */
export type AccessReason =
  'CUSTOMER_INITIATED' | 'SCHEDULED_JOB' | 'BACKUP' | 'MIGRATION' | 'VENDOR_SUPPORT' | 'EMERGENCY';
export const ACCESS_REASONS: readonly AccessReason[] = [
  'CUSTOMER_INITIATED',
  'SCHEDULED_JOB',
  'BACKUP',
  'MIGRATION',
  'VENDOR_SUPPORT',
  'EMERGENCY',
];

/** A key access justification: the reason, and optionally the ticket in the caller's system that asked for it. */
export interface AccessJustification {
  reason: AccessReason;
  /** 1-64 characters: letters, digits and `. _ : # / -`, starting with a letter or digit. Recorded in the tenant's audit log. */
  ticket?: string;
}

const TICKET_RE = /^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/;

/** Checks a justification before it goes on the wire (the server refuses the same things with a 400). */
export function checkJustification(j: AccessJustification | undefined): void {
  if (j === undefined) return;
  if (!ACCESS_REASONS.includes(j.reason))
    throw new KeyholdError(`reason must be one of ${ACCESS_REASONS.join(', ')}`, 'INVALID_ARGUMENT');
  if (j.ticket !== undefined && !TICKET_RE.test(j.ticket))
    throw new KeyholdError('ticket must be 1-64 characters (letters, digits, . _ : # / -)', 'INVALID_ARGUMENT');
}

/** The request headers of a justification (none without one). */
export function justificationHeaders(j: AccessJustification | undefined): Record<string, string> {
  if (!j) return {};
  return {
    'keyhold-access-reason': j.reason,
    ...(j.ticket !== undefined ? { 'keyhold-access-ticket': j.ticket } : {}),
  };
}

export const sameJustification = (a: AccessJustification | undefined, b: AccessJustification | undefined): boolean =>
  a?.reason === b?.reason && a?.ticket === b?.ticket;
