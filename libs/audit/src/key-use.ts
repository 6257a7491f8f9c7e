import type { DataSource } from 'typeorm';

export type KeyUseBucket = 'minute' | 'hour' | 'day';

export interface KeyUsePoint {
  /** Start of the bucket (UTC, ISO 8601). */
  readonly at: string;
  /** The reason given (`NONE` when none was). */
  readonly reason: string;
  /** DEKs issued. */
  readonly issued: number;
  /** Requests refused for their reason (REASON_DENIED, REASON_REQUIRED). */
  readonly denied: number;
}

export interface KeyUseQuery {
  readonly workspaceId?: string;
  readonly from: Date;
  readonly to: Date;
  readonly bucket: KeyUseBucket;
}

/**
 * How late an aggregated issuance record may be written after its minute (the aggregator flushes every 10 s; the
 * audit buffer retries through an outage): records are found by their write time, counted by their minute.
 */
const WRITE_SLACK = '15 minutes';

/**
 * Key use by reason over time, read from the aggregated `dek.issued` / `dek.access_denied` audit records (one per
 * principal, workspace, reason and minute; compacted ones carry their first minute as `from`). Records written
 * before reasons existed count as `NONE`. Served by the partial index `audit_events_key_use`.
 */
export class KeyUseReport {
  constructor(private readonly ds: DataSource) {}

  async byReason(tenantId: string, q: KeyUseQuery): Promise<KeyUsePoint[]> {
    const r = await this.ds.query<Array<{ at: string; reason: string; issued: number | null; denied: number | null }>>(
      `WITH e AS (
         SELECT action, COALESCE(details->>'reason', 'NONE') AS reason, COALESCE((details->>'count')::bigint, 0) AS n,
                COALESCE(details->>'minute', details->>'from', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::timestamptz AS minute
           FROM audit_events
          WHERE tenant_id = $1 AND action IN ('dek.issued', 'dek.access_denied')
            AND at >= $2 AND at < $3::timestamptz + interval '${WRITE_SLACK}'
            AND ($5::text IS NULL OR target = 'workspace:' || $5::text)
       )
       SELECT to_char(date_trunc($4, minute AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, reason,
              sum(n) FILTER (WHERE action = 'dek.issued')::float8 AS issued,
              sum(n) FILTER (WHERE action = 'dek.access_denied')::float8 AS denied
         FROM e WHERE minute >= $2 AND minute < $3
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [tenantId, q.from.toISOString(), q.to.toISOString(), q.bucket, q.workspaceId ?? null],
    );
    return r.map((x) => ({ at: x.at, reason: x.reason, issued: Number(x.issued ?? 0), denied: Number(x.denied ?? 0) }));
  }
}
