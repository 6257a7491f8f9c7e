import { createHash } from 'node:crypto';

/**
 * The hash chain of one tenant's audit log. Each entry's hash is SHA-256 over the previous hash and the entry's
 * canonical form, so changing, removing or reordering any stored entry breaks every hash after it.
 * Genesis: prev_hash of seq 1 is 64 zeros.
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

export type ChainVerdict = { ok: true; count: number; headHash: string } | { ok: false; count: number; firstBadSeq: number };

/** Walks entries in seq order; the first entry whose seq, prev_hash or hash does not follow is reported. */
export function verifyChain(entries: Iterable<AuditEntry & { prevHash: string; hash: string }>, start = { seq: 0, hash: GENESIS_HASH }): ChainVerdict {
  let expectedPrev = start.hash;
  let expectedSeq = start.seq + 1;
  let count = 0;
  for (const e of entries) {
    if (Number(e.seq) !== expectedSeq || e.prevHash !== expectedPrev || entryHash(e.prevHash, e) !== e.hash)
      return { ok: false, count, firstBadSeq: expectedSeq };
    expectedPrev = e.hash;
    expectedSeq++;
    count++;
  }
  return { ok: true, count, headHash: expectedPrev };
}
