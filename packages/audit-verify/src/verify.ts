import { timingSafeEqual } from 'node:crypto';
import { AuditEntry, Checkpoint, entryHash, entryMac, GENESIS_HASH, headMac } from './format';
import { checkpointSignatureValid, PublicKeyRing } from './keys';

/** One stored or exported record: the entry plus its chain fields. */
export interface ChainedRecord extends AuditEntry {
  readonly prevHash: string;
  readonly hash: string;
  readonly mac?: string;
}

/** Why a log failed verification (stable codes: the API and the offline verifier answer the same ones). */
export type FailureReason =
  | 'malformed'
  | 'tenant_mismatch'
  | 'reordered'
  | 'gap'
  | 'prev_mismatch'
  | 'modified'
  | 'mac_invalid'
  | 'checkpoint_signature_invalid'
  | 'forked'
  | 'truncated'
  | 'head_missing'
  | 'head_mismatch'
  | 'head_mac_invalid'
  | 'checkpoint_missing';

export type LogVerdict =
  | {
      ok: true;
      count: number;
      headHash: string;
      checkpoints: number;
      lastCheckpointSeq: number;
      uncheckpointed: number;
    }
  | { ok: false; count: number; firstBadSeq: number; reason: FailureReason; message: string; record?: number };

export interface VerifyOptions {
  readonly tenantId: string;
  readonly checkpoints: readonly Checkpoint[];
  readonly publicKeys: PublicKeyRing;
  /** The audit MAC key (Keyhold only). Without it the MACs are not checked: the checkpoints carry the guarantee. */
  readonly macKey?: Buffer;
  /** The stored head (Keyhold only): `null` = the head row is gone; `undefined` = not checked (offline). */
  readonly head?: { seq: number; hash: string; mac: string } | null;
  /**
   * Coverage: every record older than `asOf - graceMs` must be covered by a checkpoint. `asOf` defaults to the
   * latest checkpoint's time (offline: the export carries no trustworthy clock of its own).
   */
  readonly asOf?: Date;
  readonly graceMs?: number;
  /** Verify a segment: the records start after this (seq, hash), e.g. the previous checkpoint. */
  readonly start?: { readonly seq: number; readonly hash: string };
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Verifies one tenant's log against Keyhold's signed checkpoints, one record at a time (a log of any length in
 * constant memory). The first failure wins and names the first seq that cannot be trusted. Checks, in the order a
 * reader meets them: every checkpoint is signed by a known key and no two disagree; records are in seq order
 * without gaps, each links to the previous hash and re-hashes to its own hash (and MAC when the key is given); the
 * chain at each checkpoint's seq equals the signed head; nothing signed is missing from the end; the head (when
 * given) matches the last record and its MAC; no record older than the checkpoint interval is left unsealed.
 */
export class LogVerifier {
  private readonly bySeq = new Map<number, Checkpoint>();
  private readonly maxCheckpoint: Checkpoint | undefined;
  private readonly cutoffMs: number | undefined;
  private failure: LogVerdict | undefined;
  private expectedSeq = 1;
  private prev = GENESIS_HASH;
  private lastVerifiedCheckpoint = 0;
  private count = 0;
  private line = 0;
  private oldUncovered = false;

  constructor(private readonly o: VerifyOptions) {
    if (o.start) {
      this.expectedSeq = o.start.seq + 1;
      this.prev = o.start.hash;
    }
    const sorted = [...o.checkpoints].sort((a, b) => a.seq - b.seq);
    this.maxCheckpoint = sorted[sorted.length - 1];
    const asOf = o.asOf ?? (this.maxCheckpoint ? new Date(this.maxCheckpoint.at) : undefined);
    this.cutoffMs = asOf ? asOf.getTime() - (o.graceMs ?? 120_000) : undefined;
    for (const c of sorted) if (!this.admit(c)) break;
  }

  private admit(c: Checkpoint): boolean {
    if (c.tenantId !== this.o.tenantId)
      return this.fail(c.seq, 'tenant_mismatch', `checkpoint at seq ${c.seq} names tenant ${c.tenantId}`);
    if (!checkpointSignatureValid(c, this.o.publicKeys))
      return this.fail(
        c.seq,
        'checkpoint_signature_invalid',
        `checkpoint at seq ${c.seq} is not signed by a known key (key id ${c.keyId})`,
      );
    const other = this.bySeq.get(c.seq);
    if (other && other.headHash !== c.headHash)
      return this.fail(c.seq, 'forked', `two signed checkpoints disagree at seq ${c.seq}: the log was forked`);
    this.bySeq.set(c.seq, c);
    return true;
  }

  /** Feeds the next record; false once the log has failed (later records cannot change the verdict). */
  push(r: ChainedRecord): boolean {
    if (this.failure) return false;
    const line = ++this.line;
    const seq = Number(r.seq);
    const expected = this.expectedSeq;
    if (r.tenantId !== this.o.tenantId)
      return this.fail(expected, 'tenant_mismatch', `record ${line} belongs to tenant ${r.tenantId}`, line);
    if (!Number.isSafeInteger(seq) || seq < expected)
      return this.fail(
        expected,
        'reordered',
        `record ${line} has seq ${r.seq} where seq ${expected} was expected (records out of order or repeated)`,
        line,
      );
    if (seq > expected)
      return this.fail(
        expected,
        'gap',
        `seq ${expected}${seq - 1 > expected ? `-${seq - 1}` : ''} missing before record ${line} (deleted)`,
        line,
      );
    if (r.prevHash !== this.prev)
      return this.fail(seq, 'prev_mismatch', `record ${line} (seq ${seq}) does not link to the previous record`, line);
    if (typeof r.hash !== 'string' || !same(entryHash(r.prevHash, r), r.hash))
      return this.fail(
        seq,
        'modified',
        `record ${line} (seq ${seq}) does not hash to its stored hash: its content was changed`,
        line,
      );
    if (
      this.o.macKey &&
      (typeof r.mac !== 'string' || !same(entryMac(this.o.macKey, this.o.tenantId, seq, r.hash), r.mac))
    )
      return this.fail(
        seq,
        'mac_invalid',
        `record ${line} (seq ${seq}) has no valid MAC: the chain was rewritten without Keyhold's audit key`,
        line,
      );
    const cp = this.bySeq.get(seq);
    if (cp) {
      if (cp.headHash !== r.hash)
        return this.fail(
          this.lastVerifiedCheckpoint + 1,
          'forked',
          `the chain at seq ${seq} differs from the head Keyhold signed: the records after seq ${this.lastVerifiedCheckpoint} are not the ones that were sealed`,
          line,
        );
      this.lastVerifiedCheckpoint = seq;
    }
    if (this.cutoffMs !== undefined && seq > (this.maxCheckpoint?.seq ?? 0) && r.at.getTime() < this.cutoffMs)
      this.oldUncovered = true;
    this.prev = r.hash;
    this.expectedSeq = seq + 1;
    this.count++;
    return true;
  }

  /** The verdict once every record was pushed. */
  finish(): LogVerdict {
    if (this.failure) return this.failure;
    const lastSeq = this.expectedSeq - 1;
    const max = this.maxCheckpoint;
    if (max && max.seq > lastSeq)
      return (
        this.fail(
          lastSeq + 1,
          'truncated',
          `Keyhold signed a head at seq ${max.seq} but the log ends at seq ${lastSeq}: records were deleted from the end`,
        ),
        this.failure!
      );
    const head = this.o.head;
    if (head === null && this.count > 0)
      return (this.fail(lastSeq + 1, 'head_missing', 'the log has records but its head is missing'), this.failure!);
    if (head) {
      if (
        this.o.macKey &&
        (typeof head.mac !== 'string' || !same(headMac(this.o.macKey, this.o.tenantId, head.seq, head.hash), head.mac))
      )
        return (
          this.fail(
            Math.min(head.seq, lastSeq) + 1,
            'head_mac_invalid',
            'the head was not written by Keyhold (its MAC does not verify)',
          ),
          this.failure!
        );
      if (head.seq > lastSeq)
        return (
          this.fail(
            lastSeq + 1,
            'truncated',
            `the head is at seq ${head.seq} but the log ends at seq ${lastSeq}: records were deleted from the end`,
          ),
          this.failure!
        );
      if (head.seq !== lastSeq || head.hash !== this.prev)
        return (
          this.fail(
            head.seq + 1,
            'head_mismatch',
            `the head (seq ${head.seq}) does not match the last record (seq ${lastSeq})`,
          ),
          this.failure!
        );
    }
    const covered = max?.seq ?? 0;
    if (this.oldUncovered)
      return (
        this.fail(
          covered + 1,
          'checkpoint_missing',
          `records from seq ${covered + 1} are older than the checkpoint interval and no signed checkpoint covers them`,
        ),
        this.failure!
      );
    return {
      ok: true,
      count: this.count,
      headHash: this.prev,
      checkpoints: this.bySeq.size,
      lastCheckpointSeq: covered,
      uncheckpointed: lastSeq - covered,
    };
  }

  private fail(firstBadSeq: number, reason: FailureReason, message: string, record?: number): false {
    this.failure = {
      ok: false,
      count: this.count,
      firstBadSeq,
      reason,
      message,
      ...(record !== undefined ? { record } : {}),
    };
    return false;
  }
}

/** Verifies a whole log held in memory. */
export function verifyLog(o: VerifyOptions & { records: Iterable<ChainedRecord> }): LogVerdict {
  const v = new LogVerifier(o);
  for (const r of o.records) if (!v.push(r)) break;
  return v.finish();
}
