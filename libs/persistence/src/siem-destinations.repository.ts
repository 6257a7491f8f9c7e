import type { DataSource } from 'typeorm';
import { one, Queryable, rows } from './sql';

export type SiemKind = 'webhook' | 'splunk-hec' | 'jsonl';
export type SiemFormat = 'native' | 'cef' | 'ocsf';
export type SiemState = 'active' | 'dead_letter';

/** A destination as the key admin sees it (never the secret). */
export interface SiemDestinationRow {
  id: string;
  tenantId: string;
  name: string;
  kind: SiemKind;
  format: SiemFormat;
  url: string;
  state: SiemState;
  /** Last audit sequence the receiver acknowledged. */
  cursorSeq: number;
  /** The tenant's newest audit sequence. */
  headSeq: number;
  /** Consecutive failed attempts (reset by a 2xx). */
  failures: number;
  lastError: string | null;
  lastAttemptAt: Date | null;
  lastDeliveredAt: Date | null;
  deadLetteredAt: Date | null;
  deliveredCount: number;
  secretRotatedAt: Date;
  /** Until when the previous signing secret also signs (after a rotation with an overlap); null otherwise. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  /** Seconds since the oldest event not yet acknowledged was written (0 when caught up). */
  lagSeconds: number;
}

/** What the delivery worker needs: the row plus the sealed secret. */
export interface SiemDeliveryTarget {
  id: string;
  tenantId: string;
  kind: SiemKind;
  format: SiemFormat;
  url: string;
  state: SiemState;
  cursorSeq: number;
  sealedSecret: string;
  /** The previous secret while its overlap lasts. */
  previousSealedSecret: string | null;
}

/** One audit record as the worker streams it (the columns of audit_events it forwards). */
export interface SiemAuditEvent {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: Record<string, unknown>;
  hash: string;
}

const VIEW = `
  SELECT d.id, d.tenant_id AS "tenantId", d.name, d.kind, d.format, d.url, d.state,
         d.cursor_seq::float8 AS "cursorSeq", COALESCE(h.seq, 0)::float8 AS "headSeq", d.failures,
         d.last_error AS "lastError", d.last_attempt_at AS "lastAttemptAt", d.last_delivered_at AS "lastDeliveredAt",
         d.dead_lettered_at AS "deadLetteredAt", d.delivered_count::float8 AS "deliveredCount",
         d.secret_rotated_at AS "secretRotatedAt", d.created_at AS "createdAt",
         CASE WHEN d.previous_secret_expires_at > now() THEN d.previous_secret_expires_at END AS "previousSecretExpiresAt",
         COALESCE(GREATEST(0, extract(epoch FROM now() - (SELECT e.at FROM audit_events e WHERE e.tenant_id = d.tenant_id AND e.seq = d.cursor_seq + 1))), 0)::float8 AS "lagSeconds"
    FROM siem_destinations d LEFT JOIN audit_heads h ON h.tenant_id = d.tenant_id`;

/**
 * siem_destinations (migration SiemDestinations1764700000000). Every tenant-facing read and write is keyed by
 * (tenant_id, id): another tenant's id answers nothing. The cursor only moves forward, by compare-and-set, so a
 * worker that lost its job to another cannot move it back.
 */
export class SiemDestinationRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    db: Queryable,
    d: Pick<SiemDestinationRow, 'id' | 'tenantId' | 'name' | 'kind' | 'format' | 'url'> & { sealedSecret: string },
  ): Promise<void> {
    // Delivery starts with the tenant's next event (this destination's own creation record included).
    await db.query(
      `INSERT INTO siem_destinations (id, tenant_id, name, kind, format, url, sealed_secret, cursor_seq)
       VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE((SELECT seq FROM audit_heads WHERE tenant_id = $2), 0))`,
      [d.id, d.tenantId, d.name, d.kind, d.format, d.url, d.sealedSecret],
    );
  }

  list(tenantId: string): Promise<SiemDestinationRow[]> {
    return rows<SiemDestinationRow>(this.ds, `${VIEW} WHERE d.tenant_id = $1 ORDER BY d.created_at, d.id`, [tenantId]);
  }

  get(tenantId: string, id: string, db: Queryable = this.ds): Promise<SiemDestinationRow | null> {
    return one<SiemDestinationRow>(db, `${VIEW} WHERE d.tenant_id = $1 AND d.id = $2`, [tenantId, id]);
  }

  /** The new secret signs from now on; with `overlapSeconds` > 0 the current one keeps signing too until then. */
  async replaceSecret(
    db: Queryable,
    tenantId: string,
    id: string,
    sealedSecret: string,
    overlapSeconds = 0,
  ): Promise<boolean> {
    const r = await rows(
      db,
      `UPDATE siem_destinations
          SET previous_sealed_secret = CASE WHEN $4::int > 0 THEN sealed_secret END,
              previous_secret_expires_at = CASE WHEN $4::int > 0 THEN now() + make_interval(secs => $4::int) END,
              sealed_secret = $3, secret_rotated_at = now()
        WHERE tenant_id = $1 AND id = $2 RETURNING id`,
      [tenantId, id, sealedSecret, overlapSeconds],
    );
    return r.length === 1;
  }

  async remove(db: Queryable, tenantId: string, id: string): Promise<boolean> {
    const r = await rows(db, `DELETE FROM siem_destinations WHERE tenant_id = $1 AND id = $2 RETURNING id`, [
      tenantId,
      id,
    ]);
    return r.length === 1;
  }

  /** Back from the dead-letter state: the next sweep delivers from the cursor (nothing was skipped). */
  async reactivate(db: Queryable, tenantId: string, id: string): Promise<boolean> {
    const r = await rows(
      db,
      `UPDATE siem_destinations SET state = 'active', failures = 0, dead_lettered_at = NULL WHERE tenant_id = $1 AND id = $2 RETURNING id`,
      [tenantId, id],
    );
    return r.length === 1;
  }

  // ---- worker side ----

  /** Active destinations whose tenant wrote past their cursor (bounded: the sweep runs every second). */
  due(limit = 1000): Promise<Array<{ id: string; tenantId: string }>> {
    return rows(
      this.ds,
      `SELECT d.id, d.tenant_id AS "tenantId" FROM siem_destinations d JOIN audit_heads h ON h.tenant_id = d.tenant_id
        WHERE d.state = 'active' AND h.seq > d.cursor_seq ORDER BY d.last_attempt_at NULLS FIRST LIMIT $1`,
      [limit],
    );
  }

  target(id: string): Promise<SiemDeliveryTarget | null> {
    return one<SiemDeliveryTarget>(
      this.ds,
      `SELECT id, tenant_id AS "tenantId", kind, format, url, state, cursor_seq::float8 AS "cursorSeq", sealed_secret AS "sealedSecret",
              CASE WHEN previous_secret_expires_at > now() THEN previous_sealed_secret END AS "previousSealedSecret"
         FROM siem_destinations WHERE id = $1`,
      [id],
    );
  }

  /** The next events after `afterSeq`, oldest first, at most `limit` (the batch bound: memory stays flat). */
  events(tenantId: string, afterSeq: number, limit: number): Promise<SiemAuditEvent[]> {
    return rows<SiemAuditEvent>(
      this.ds,
      `SELECT seq::float8 AS seq, at, actor, action, target, outcome, details, hash
         FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [tenantId, afterSeq, limit],
    );
  }

  /** Compare-and-set after the receiver's 2xx: false when the cursor is no longer `fromSeq` (another worker moved it). */
  async advance(id: string, fromSeq: number, toSeq: number, count: number): Promise<boolean> {
    const r = await rows(
      this.ds,
      `UPDATE siem_destinations SET cursor_seq = $3, failures = 0, last_error = NULL, last_attempt_at = now(), last_delivered_at = now(),
              delivered_count = delivered_count + $4
        WHERE id = $1 AND cursor_seq = $2 AND $3 > cursor_seq RETURNING id`,
      [id, fromSeq, toSeq, count],
    );
    return r.length === 1;
  }

  /** One more consecutive failure; past `maxFailures` the destination is dead-lettered. Returns the new state. */
  async recordFailure(
    id: string,
    error: string,
    maxFailures: number,
  ): Promise<{ failures: number; state: SiemState } | null> {
    return one(
      this.ds,
      `UPDATE siem_destinations SET failures = failures + 1, last_error = $2, last_attempt_at = now(),
              state = CASE WHEN failures + 1 >= $3 THEN 'dead_letter' ELSE state END,
              dead_lettered_at = CASE WHEN failures + 1 >= $3 AND state = 'active' THEN now() ELSE dead_lettered_at END
        WHERE id = $1 RETURNING failures, state`,
      [id, error.slice(0, 500), maxFailures],
    );
  }

  /** For /metrics: the worst lag over every destination and how many are dead-lettered. */
  async health(): Promise<{ maxLagSeconds: number; deadLetters: number; destinations: number }> {
    const r = await one<{ maxLagSeconds: number; deadLetters: number; destinations: number }>(
      this.ds,
      `SELECT COALESCE(max(GREATEST(0, extract(epoch FROM now() - e.at))), 0)::float8 AS "maxLagSeconds",
              (SELECT count(*) FROM siem_destinations WHERE state = 'dead_letter')::int AS "deadLetters",
              (SELECT count(*) FROM siem_destinations)::int AS destinations
         FROM siem_destinations d JOIN audit_events e ON e.tenant_id = d.tenant_id AND e.seq = d.cursor_seq + 1`,
    );
    return r ?? { maxLagSeconds: 0, deadLetters: 0, destinations: 0 };
  }
}
