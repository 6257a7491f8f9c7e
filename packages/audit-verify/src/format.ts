import { createHash, createHmac } from 'node:crypto';

/**
 * The audit record format, byte by byte (docs/AUDIT.md). Pure functions, no I/O and no dependency beyond
 * node:crypto, so the server and the customer's offline verifier run the same code.
 *
 * - `hash` (public chain): SHA-256 over `prevHash` (hex), a newline, and the record's canonical JSON. Anyone holding
 *   the export can recompute it; it is what a signed checkpoint commits to.
 * - `mac` (keyed): HMAC-SHA256 under Keyhold's audit key (kept outside the database) over a domain tag, the tenant,
 *   the seq and `hash`. Because `hash` commits to every earlier record, one MAC covers the whole prefix: someone who
 *   can write the database but does not hold the key cannot re-hash a rewritten history and make the MACs follow.
 * - checkpoint: Ed25519 signature by Keyhold's signing key over (tenant, seq, head hash, time). The customer verifies
 *   it with only the public key.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  readonly tenantId: string;
  readonly seq: number;
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  readonly details: Record<string, unknown>;
}

/** Deterministic JSON: object keys sorted at every depth (jsonb reorders keys, so storage order cannot matter). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export function entryHash(prevHash: string, e: AuditEntry): string {
  const body = canonicalJson({
    tenantId: e.tenantId,
    seq: e.seq,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: e.details,
  });
  return createHash('sha256').update(prevHash, 'utf8').update('\n').update(body, 'utf8').digest('hex');
}

/** The MAC of one record: binds (tenant, seq, hash) under the audit key. */
export function entryMac(key: Buffer, tenantId: string, seq: number, hash: string): string {
  return createHmac('sha256', key).update(`keyhold-audit-entry/v1\n${tenantId}\n${seq}\n${hash}`, 'utf8').digest('hex');
}

/** The MAC of a tenant's head row (another domain tag, so a record's MAC can never stand in for a head's). */
export function headMac(key: Buffer, tenantId: string, seq: number, hash: string): string {
  return createHmac('sha256', key).update(`keyhold-audit-head/v1\n${tenantId}\n${seq}\n${hash}`, 'utf8').digest('hex');
}

export interface Checkpoint {
  readonly tenantId: string;
  readonly seq: number;
  readonly headHash: string;
  /** ISO-8601 UTC with milliseconds, exactly as signed. */
  readonly at: string;
  readonly keyId: string;
  /** Ed25519 signature over `checkpointMessage`, base64. */
  readonly signature: string;
}

/** The exact bytes a checkpoint signature covers (UTF-8). */
export function checkpointMessage(c: Pick<Checkpoint, 'tenantId' | 'seq' | 'headHash' | 'at'>): Buffer {
  return Buffer.from(`keyhold-audit-checkpoint/v1\n${c.tenantId}\n${c.seq}\n${c.headHash}\n${c.at}`, 'utf8');
}
