import type { DataSource } from 'typeorm';
import { AuditEntry, entryHash, GENESIS_HASH, verifyChain } from './chain';

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
}

export type AuditVerification = { ok: true; count: number; headHash: string } | { ok: false; count: number; firstBadSeq: number };

/**
 * Per-tenant append-only audit log. Appends for one tenant are serialised by a row lock on audit_heads (across
 * processes), and within a process by a per-tenant promise chain so callers do not queue on the lock.
 * Verification re-reads the stored rows and recomputes every hash: an UPDATE/DELETE made directly in SQL shows
 * up as the first seq whose hash no longer follows.
 */
export class AuditLog {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly ds: DataSource) {}

  append(tenantId: string, record: AuditRecord): Promise<number> {
    return this.appendMany(tenantId, [record]).then((seqs) => seqs[0]);
  }

  appendMany(tenantId: string, records: AuditRecord[]): Promise<number[]> {
    if (!records.length) return Promise.resolve([]);
    const prev = this.chains.get(tenantId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.write(tenantId, records));
    this.chains.set(tenantId, next);
    void next.finally(() => {
      if (this.chains.get(tenantId) === next) this.chains.delete(tenantId);
    }).catch(() => undefined);
    return next;
  }

  private async write(tenantId: string, records: AuditRecord[]): Promise<number[]> {
    return this.ds.transaction(async (m) => {
      await m.query(`INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (tenant_id) DO NOTHING`, [
        tenantId,
        GENESIS_HASH,
      ]);
      const head = (await m.query(`SELECT seq::float8 AS seq, hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE`, [tenantId]))[0] as {
        seq: number;
        hash: string;
      };
      let seq = Number(head.seq);
      let prevHash = head.hash;
      const cols: unknown[][] = [[], [], [], [], [], [], [], [], []];
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
        const row = [seq, at.toISOString(), entry.actor, entry.action, entry.target, entry.outcome, JSON.stringify(entry.details), prevHash, hash];
        row.forEach((v, i) => cols[i].push(v));
        seqs.push(seq);
        prevHash = hash;
      }
      await m.query(
        `INSERT INTO audit_events (tenant_id, seq, at, actor, action, target, outcome, details, prev_hash, hash)
         SELECT $1, s, a, ac, act, t, o, d::jsonb, p, h
         FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
           AS x(s, a, ac, act, t, o, d, p, h)`,
        [tenantId, ...cols],
      );
      await m.query(`UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1`, [tenantId, seq, prevHash]);
      return seqs;
    });
  }

  /** Events with seq > after, oldest first. `next` is the cursor for the following page (null at the end). */
  async list(tenantId: string, after = 0, limit = 100): Promise<{ events: StoredAuditEvent[]; next: number | null }> {
    const events = await this.read(tenantId, after, limit + 1);
    const more = events.length > limit;
    const page = more ? events.slice(0, limit) : events;
    return { events: page, next: more ? page[page.length - 1].seq : null };
  }

  async verify(tenantId: string): Promise<AuditVerification> {
    const pageSize = 5000;
    let after = 0;
    let start = { seq: 0, hash: GENESIS_HASH };
    let total = 0;
    for (;;) {
      const page = await this.read(tenantId, after, pageSize);
      const verdict = verifyChain(
        page.map((e) => ({ ...e, tenantId })),
        start,
      );
      if (!verdict.ok) return { ok: false, count: total + verdict.count, firstBadSeq: verdict.firstBadSeq };
      total += verdict.count;
      if (page.length < pageSize) {
        // The head must agree with the last stored entry: truncating the tail is tampering too.
        const head = (await this.ds.query(`SELECT seq::float8 AS seq, hash FROM audit_heads WHERE tenant_id = $1`, [tenantId]))[0] as
          | { seq: number; hash: string }
          | undefined;
        if (head && (Number(head.seq) !== total || head.hash !== verdict.headHash)) return { ok: false, count: total, firstBadSeq: total + 1 };
        return { ok: true, count: total, headHash: verdict.headHash };
      }
      const last = page[page.length - 1];
      start = { seq: last.seq, hash: last.hash };
      after = last.seq;
    }
  }

  /** JSON lines, one event per line, oldest first. */
  async *exportJsonLines(tenantId: string): AsyncGenerator<string> {
    let after = 0;
    for (;;) {
      const page = await this.read(tenantId, after, 1000);
      for (const e of page) yield `${JSON.stringify({ ...e, at: e.at.toISOString() })}\n`;
      if (page.length < 1000) return;
      after = page[page.length - 1].seq;
    }
  }

  /** Resolves when every append queued so far has been written. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }

  private async read(tenantId: string, after: number, limit: number): Promise<StoredAuditEvent[]> {
    const r = (await this.ds.query(
      `SELECT seq::float8 AS seq, at, actor, action, target, outcome, details, prev_hash AS "prevHash", hash
       FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [tenantId, after, limit],
    )) as StoredAuditEvent[];
    return r.map((e) => ({ ...e, seq: Number(e.seq) }));
  }
}
