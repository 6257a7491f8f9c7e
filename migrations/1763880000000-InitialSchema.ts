import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole control-plane schema. Tenant scoping is enforced by the database itself: every child row carries
 * tenant_id and points at its parent through a composite foreign key (tenant_id, x_id) → x(tenant_id, id), so a
 * row can never reference another tenant's row whatever the application does.
 */
export class InitialSchema1763880000000 implements MigrationInterface {
  name = 'InitialSchema1763880000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        external_id text NOT NULL UNIQUE CHECK (length(external_id) >= 22),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE admin_users (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        email text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL CHECK (role IN ('key_admin', 'auditor')),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, id),
        UNIQUE (tenant_id, email)
      )`);

    await q.query(`
      CREATE TABLE service_principals (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        client_id text NOT NULL UNIQUE,
        secret_hash text NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, id)
      )`);

    await q.query(`
      CREATE TABLE key_configurations (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        provider text NOT NULL CHECK (provider IN ('aws', 'azure', 'gcp')),
        config jsonb NOT NULL,
        status text NOT NULL CHECK (status IN ('valid', 'invalid')),
        validation jsonb NOT NULL DEFAULT '{}'::jsonb,
        validated_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, id),
        UNIQUE (tenant_id, name)
      )`);

    await q.query(`
      CREATE TABLE workspaces (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        key_state text NOT NULL DEFAULT 'unbound' CHECK (key_state IN
          ('unbound', 'provisioning', 'active', 'rewrapping', 'rekeying', 'kek_rotating', 'access_suspect', 'shredded')),
        key_configuration_id uuid,
        current_kek_version integer,
        degraded boolean NOT NULL DEFAULT false,
        state_version bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, id),
        FOREIGN KEY (tenant_id, key_configuration_id) REFERENCES key_configurations(tenant_id, id)
      )`);
    await q.query(`CREATE INDEX workspaces_tenant_idx ON workspaces (tenant_id, created_at)`);
    await q.query(`CREATE INDEX workspaces_key_configuration_idx ON workspaces (tenant_id, key_configuration_id)`);
    await q.query(`CREATE INDEX workspaces_updated_idx ON workspaces (updated_at)`);

    await q.query(`
      CREATE TABLE service_principal_workspaces (
        tenant_id uuid NOT NULL,
        service_principal_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        PRIMARY KEY (service_principal_id, workspace_id),
        FOREIGN KEY (tenant_id, service_principal_id) REFERENCES service_principals(tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces(tenant_id, id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX spw_workspace_idx ON service_principal_workspaces (tenant_id, workspace_id)`);

    await q.query(`
      CREATE TABLE kek_versions (
        tenant_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        version integer NOT NULL CHECK (version >= 1),
        key_configuration_id uuid NOT NULL,
        wrapped bytea NOT NULL,
        provider_key_version text,
        state text NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
        wrap_count bigint NOT NULL DEFAULT 0 CHECK (wrap_count >= 0),
        kcv bytea NOT NULL CHECK (length(kcv) = 16),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace_id, version),
        UNIQUE (tenant_id, workspace_id, version),
        FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces(tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, key_configuration_id) REFERENCES key_configurations(tenant_id, id)
      )`);
    await q.query(`CREATE INDEX kek_versions_config_idx ON kek_versions (tenant_id, key_configuration_id)`);
    // At most one active KEK version per workspace.
    await q.query(`CREATE UNIQUE INDEX kek_versions_one_active ON kek_versions (workspace_id) WHERE state = 'active'`);

    await q.query(`
      CREATE TABLE deks (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        segment_id text NOT NULL CHECK (length(segment_id) BETWEEN 1 AND 256),
        kek_version integer NOT NULL,
        wrapped bytea NOT NULL CHECK (length(wrapped) = 60),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (workspace_id, segment_id),
        FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces(tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, workspace_id, kek_version) REFERENCES kek_versions(tenant_id, workspace_id, version)
      )`);
    await q.query(`CREATE INDEX deks_kek_version_idx ON deks (workspace_id, kek_version)`);

    await q.query(`
      CREATE TABLE operations (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        workspace_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('cmk-rewrap', 'rekey', 'kek-rotation', 'revocation-check', 'reinstate')),
        state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
        step text,
        progress_done bigint NOT NULL DEFAULT 0,
        progress_total bigint NOT NULL DEFAULT 0,
        error text,
        attempts integer NOT NULL DEFAULT 0,
        params jsonb NOT NULL DEFAULT '{}'::jsonb,
        target_key_configuration_id uuid,
        requested_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        UNIQUE (tenant_id, id),
        FOREIGN KEY (tenant_id, workspace_id) REFERENCES workspaces(tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, target_key_configuration_id) REFERENCES key_configurations(tenant_id, id)
      )`);
    await q.query(`CREATE INDEX operations_workspace_idx ON operations (tenant_id, workspace_id, created_at)`);
    await q.query(
      `CREATE INDEX operations_unfinished_idx ON operations (updated_at) WHERE state IN ('queued', 'running')`,
    );
    // De-duplication of automatically triggered operations: one unfinished operation per (workspace, kind).
    await q.query(
      `CREATE UNIQUE INDEX operations_one_unfinished ON operations (workspace_id, kind) WHERE state IN ('queued', 'running')`,
    );

    await q.query(`
      CREATE TABLE audit_heads (
        tenant_id uuid PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        hash text NOT NULL
      )`);
    await q.query(`
      CREATE TABLE audit_events (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        seq bigint NOT NULL,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        outcome text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        prev_hash text NOT NULL,
        hash text NOT NULL,
        PRIMARY KEY (tenant_id, seq)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'audit_events',
      'audit_heads',
      'operations',
      'deks',
      'kek_versions',
      'service_principal_workspaces',
      'workspaces',
      'key_configurations',
      'service_principals',
      'admin_users',
      'tenants',
    ])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
