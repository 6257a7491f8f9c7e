import type { DataSource } from 'typeorm';
import {
  AuditEntry,
  ChainedRecord,
  Checkpoint,
  checkpointSignatureValid,
  entryHash,
  entryMac,
  GENESIS_HASH,
  headMac,
  LogVerdict,
  LogVerifier,
} from '@keyhold/audit-verify';
import { AuditListQuery, auditListStatement } from './audit-query';
import type { AuditKeys } from './keys';

export interface AuditRecord {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: 'success' | 'failure' | string;
  readonly details?: Record<string, unknown>;
  /** Defaults to now. */
  readonly at?: Date;
}

export interface StoredAuditEvent {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
  mac: string | null;
}

export type AuditVerification = LogVerdict;

/** A transaction (or the pool) an append runs in: the caller's transaction makes the action and its event one commit. */
export interface AuditTx {
  query(text: string, params?: unknown[]): Promise<unknown[]>;
}

/** The log refused to sign a head it could not verify (someone wrote the audit tables behind Keyhold's back). */
export class AuditIntegrityError extends Error {
  override readonly name = 'AuditIntegrityError';
  constructor(readonly verdict: Extract<LogVerdict, { ok: false }>) {
    super(`audit log failed verification at seq ${verdict.firstBadSeq} (${verdict.reason}): ${verdict.message}`);
  }
}

export interface AuditLogOptions {
  /** Checkpoint interval: verification fails for records older than about two intervals that no checkpoint seals. */
  readonly checkpointIntervalSeconds?: number;
}

/**
 * Per-tenant append-only audit log (docs/AUDIT.md). Each record carries the public SHA-256 chain hash and a MAC
 * under a key Postgres never sees; the head row carries a MAC too. Appends for one tenant are serialised by the
 * head row lock (across processes); an append may join the caller's transaction, so an action and its record
 * commit or roll back together. Checkpoints sign (tenant, seq, head hash, time) with Ed25519, only after the
 * records since the previous checkpoint verified.
 */
export class AuditLog {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly graceMs: number;

  constructor(
    private readonly ds: DataSource,
    readonly keys: AuditKeys,
    options: AuditLogOptions = {},
  ) {
    this.graceMs = 2 * (options.checkpointIntervalSeconds ?? 60) * 1000 + 10_000;
  }

  /**
   * Appends one record. With `tx`, inside that transaction (it must be the transaction's last write: the head
   * lock is taken here and held to commit); without, in a transaction of its own.
   */
  append(tenantId: string, record: AuditRecord, tx?: AuditTx): Promise<number> {
    return this.appendMany(tenantId, [record], tx).then((seqs) => seqs[0]);
  }

  appendMany(tenantId: string, records: AuditRecord[], tx?: AuditTx): Promise<number[]> {
    if (!records.length) return Promise.resolve([]);
    if (tx) return this.write(tx, tenantId, records);
    // Own transaction: queue per tenant in this process so callers do not all wait on the row lock.
    const prev = this.chains.get(tenantId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.ds.transaction((m) => this.write(m, tenantId, records)));
    this.chains.set(tenantId, next);
    void next
      .finally(() => {
        if (this.chains.get(tenantId) === next) this.chains.delete(tenantId);
      })
      .catch(() => undefined);
    return next;
  }

  private async write(m: AuditTx, tenantId: string, records: AuditRecord[]): Promise<number[]> {
    await m.query(
      `INSERT INTO audit_heads (tenant_id, seq, hash, mac) VALUES ($1, 0, $2, $3) ON CONFLICT (tenant_id) DO NOTHING`,
      [tenantId, GENESIS_HASH, headMac(this.keys.macKey, tenantId, 0, GENESIS_HASH)],
    );
    const head = (
      await m.query(`SELECT seq::float8 AS seq, hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE`, [tenantId])
    )[0] as {
      seq: number;
      hash: string;
    };
    let seq = Number(head.seq);
    let prevHash = head.hash;
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
    const seqs: number[] = [];
    for (const r of records) {
      seq++;
      // Millisecond precision so the stored timestamptz reads back to the same instant that was hashed.
      const at = new Date(Math.floor((r.at ?? new Date()).getTime()));
      const entry: AuditEntry = {
        tenantId,
        seq,
        at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: r.outcome,
        details: JSON.parse(JSON.stringify(r.details ?? {})) as Record<string, unknown>,
      };
      const hash = entryHash(prevHash, entry);
      const mac = entryMac(this.keys.macKey, tenantId, seq, hash);
      const row = [
        seq,
        at.toISOString(),
        entry.actor,
        entry.action,
        entry.target,
        entry.outcome,
        JSON.stringify(entry.details),
        prevHash,
        hash,
        mac,
      ];
      row.forEach((v, i) => cols[i].push(v));
      seqs.push(seq);
      prevHash = hash;
    }
    await m.query(
      `INSERT INTO audit_events (tenant_id, seq, at, actor, action, target, outcome, details, prev_hash, hash, mac)
       SELECT $1, s, a, ac, act, t, o, d::jsonb, p, h, mc
       FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
         AS x(s, a, ac, act, t, o, d, p, h, mc)`,
      [tenantId, ...cols],
    );
    await m.query(`UPDATE audit_heads SET seq = $2, hash = $3, mac = $4 WHERE tenant_id = $1`, [
      tenantId,
      seq,
      prevHash,
      headMac(this.keys.macKey, tenantId, seq, prevHash),
    ]);
    return seqs;
  }

  /**
   * One page of the tenant's events matching `q.filter`, in sequence order (`q.order`), after `q.last`. `last` is the
   * sequence number to continue from (null on the last page).
   */
  async list(tenantId: string, q: AuditListQuery): Promise<{ events: StoredAuditEvent[]; last: number | null }> {
    const { text, params } = auditListStatement(tenantId, q);
    const rows = (await this.ds.query<StoredAuditEvent[]>(text, params)).map((e) => ({ ...e, seq: Number(e.seq) }));
    const more = rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    return { events: page, last: more ? page[page.length - 1].seq : null };
  }

  /**
   * The whole log against its head, its MACs and every signed checkpoint. Fails on any change, deletion, reorder,
   * truncation, fork, a missing or rewound head, and records older than about two checkpoint intervals that no
   * checkpoint seals.
   */
  async verify(tenantId: string): Promise<AuditVerification> {
    // One snapshot: appends that commit while the log is read cannot look like a head that ran ahead of its records.
    return this.ds.transaction('REPEATABLE READ', async (m) => {
      const verifier = new LogVerifier({
        tenantId,
        checkpoints: await this.queryCheckpoints(m, `WHERE tenant_id = $1 ORDER BY seq`, [tenantId]),
        publicKeys: this.keys.ring,
        macKey: this.keys.macKey,
        head: await this.head(m, tenantId),
        asOf: new Date(),
        graceMs: this.graceMs,
      });
      await this.walk(m, tenantId, 0, (e) => verifier.push(e));
      const verdict = verifier.finish();
      // Every tenant's log starts with its creation: an empty log with no head was emptied.
      if (verdict.ok && verdict.count === 0 && !(await this.head(m, tenantId)))
        return {
          ok: false,
          count: 0,
          firstBadSeq: 1,
          reason: 'head_missing',
          message: 'the log and its head are missing (every tenant has at least its creation record)',
        } as const;
      return verdict;
    });
  }

  /**
   * Signs the tenant's current head, after verifying every record since the previous checkpoint (their links, hashes
   * and MACs, and the head's MAC): Keyhold never signs a state it did not write. Returns the newest checkpoint
   * (the existing one when nothing was appended since), or null for an empty log.
   */
  async checkpoint(tenantId: string): Promise<Checkpoint | null> {
    const due = await this.ds.transaction('REPEATABLE READ', async (m) => {
      const last = await this.latest(m, tenantId);
      const head = await this.head(m, tenantId);
      if (!head || head.seq === 0 || (last && head.seq <= last.seq)) return null;
      if (last && !checkpointSignatureValid(last, this.keys.ring))
        throw new AuditIntegrityError({
          ok: false,
          count: 0,
          firstBadSeq: last.seq,
          reason: 'checkpoint_signature_invalid',
          message: `the stored checkpoint at seq ${last.seq} is not signed by Keyhold`,
        });
      const verifier = new LogVerifier({
        tenantId,
        checkpoints: [],
        publicKeys: this.keys.ring,
        macKey: this.keys.macKey,
        head,
        start: last ? { seq: last.seq, hash: last.headHash } : undefined,
      });
      await this.walk(m, tenantId, last?.seq ?? 0, (e) => verifier.push(e));
      const verdict = verifier.finish();
      if (!verdict.ok) throw new AuditIntegrityError(verdict);
      return head;
    });
    if (due) {
      const c = this.keys.sign({ tenantId, seq: due.seq, headHash: due.hash, at: new Date().toISOString() });
      await this.ds.query(
        `INSERT INTO audit_checkpoints (tenant_id, seq, head_hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, seq) DO NOTHING`,
        [c.tenantId, c.seq, c.headHash, c.at, c.keyId, c.signature],
      );
    }
    // Another process may have sealed the same seq first: answer what is stored.
    return this.latest(this.ds, tenantId);
  }

  /** Tenants whose log grew since their latest checkpoint. */
  async tenantsDue(): Promise<string[]> {
    const r = await this.ds.query<Array<{ tenantId: string }>>(
      `SELECT h.tenant_id AS "tenantId" FROM audit_heads h
       WHERE h.seq > COALESCE((SELECT max(c.seq) FROM audit_checkpoints c WHERE c.tenant_id = h.tenant_id), 0)`,
    );
    return r.map((x) => x.tenantId);
  }

  /** Checkpoints with seq > after, oldest first, paged like the events. */
  async listCheckpoints(
    tenantId: string,
    after = 0,
    limit = 100,
  ): Promise<{ checkpoints: Checkpoint[]; next: number | null }> {
    const rows = await this.queryCheckpoints(this.ds, `WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
      tenantId,
      after,
      limit + 1,
    ]);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return { checkpoints: page, next: more ? page[page.length - 1].seq : null };
  }

  latestCheckpoint(tenantId: string): Promise<Checkpoint | null> {
    return this.latest(this.ds, tenantId);
  }

  /** JSON lines, one event per line, oldest first: every field the offline verifier needs (docs/AUDIT.md). */
  async *exportJsonLines(tenantId: string): AsyncGenerator<string> {
    let after = 0;
    for (;;) {
      const page = await this.read(tenantId, after, 1000);
      for (const e of page) yield `${JSON.stringify({ tenantId, ...e, at: e.at.toISOString() })}\n`;
      if (page.length < 1000) return;
      after = page[page.length - 1].seq;
    }
  }

  /** Resolves when every append queued so far has been written. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }

  private async latest(db: AuditTx, tenantId: string): Promise<Checkpoint | null> {
    return (await this.queryCheckpoints(db, `WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1`, [tenantId]))[0] ?? null;
  }

  private async head(db: AuditTx, tenantId: string): Promise<{ seq: number; hash: string; mac: string } | null> {
    const r = (
      await db.query(`SELECT seq::float8 AS seq, hash, mac FROM audit_heads WHERE tenant_id = $1`, [tenantId])
    )[0] as { seq: number; hash: string; mac: string | null } | undefined;
    return r ? { seq: Number(r.seq), hash: r.hash, mac: r.mac ?? '' } : null;
  }

  /** Feeds the events after `after` to `visit` in seq order, a page at a time; stops when `visit` answers false. */
  private async walk(
    db: AuditTx,
    tenantId: string,
    after: number,
    visit: (e: ChainedRecord) => boolean,
  ): Promise<void> {
    const pageSize = 5000;
    for (;;) {
      const page = await this.read(tenantId, after, pageSize, db);
      for (const e of page) if (!visit({ ...e, tenantId, mac: e.mac ?? undefined })) return;
      if (page.length < pageSize) return;
      after = page[page.length - 1].seq;
    }
  }

  private async queryCheckpoints(db: AuditTx, where: string, params: unknown[]): Promise<Checkpoint[]> {
    const r = (await db.query(
      `SELECT tenant_id AS "tenantId", seq::float8 AS seq, head_hash AS "headHash", at, key_id AS "keyId", signature FROM audit_checkpoints ${where}`,
      params,
    )) as Array<Omit<Checkpoint, 'at'> & { at: Date }>;
    return r.map((c) => ({
      tenantId: c.tenantId,
      seq: Number(c.seq),
      headHash: c.headHash,
      at: new Date(c.at).toISOString(),
      keyId: c.keyId,
      signature: c.signature,
    }));
  }

  private async read(
    tenantId: string,
    after: number,
    limit: number,
    db: AuditTx = this.ds,
  ): Promise<StoredAuditEvent[]> {
    const r = (await db.query(
      `SELECT seq::float8 AS seq, at, actor, action, target, outcome, details, prev_hash AS "prevHash", hash, mac
       FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [tenantId, after, limit],
    )) as StoredAuditEvent[];
    return r.map((e) => ({ ...e, seq: Number(e.seq) }));
  }
}
