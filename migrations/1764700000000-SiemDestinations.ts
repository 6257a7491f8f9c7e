import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SIEM streaming (docs/AUDIT.md "Streaming to a SIEM"): one row per destination a tenant's key admin configured.
 * `cursor_seq` is the last audit sequence the receiver acknowledged with a 2xx: the worker reads the tenant's
 * audit_events after it and moves it forward only after the receiver answered, so a killed worker or a receiver
 * outage loses nothing (the audit log is the queue; Redis only carries "this destination has work").
 * `sealed_secret` is the webhook signing secret or the Splunk HEC token, AES-256-GCM sealed under a key that is
 * not in Postgres.
 */
export class SiemDestinations1764700000000 implements MigrationInterface {
  name = 'SiemDestinations1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE siem_destinations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('webhook', 'splunk-hec', 'jsonl')),
        format text NOT NULL CHECK (format IN ('native', 'cef', 'ocsf')),
        url text NOT NULL,
        sealed_secret text NOT NULL,
        secret_rotated_at timestamptz NOT NULL DEFAULT now(),
        -- after a rotation with an overlap: the previous secret also signs until it expires
        previous_sealed_secret text,
        previous_secret_expires_at timestamptz,
        cursor_seq bigint NOT NULL DEFAULT 0 CHECK (cursor_seq >= 0),
        state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'dead_letter')),
        failures integer NOT NULL DEFAULT 0,
        last_error text,
        last_attempt_at timestamptz,
        last_delivered_at timestamptz,
        dead_lettered_at timestamptz,
        delivered_count bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, name)
      )`);
    await q.query(`CREATE INDEX siem_destinations_tenant ON siem_destinations (tenant_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS siem_destinations`);
  }
}
