import type { DataSource } from 'typeorm';
import { one, Queryable, rows } from './sql';

export interface TenantRow {
  id: string;
  name: string;
  externalId: string;
  createdAt: Date;
}

export type AdminRole = 'key_admin' | 'auditor';

export interface AdminUserRow {
  id: string;
  tenantId: string;
  email: string;
  passwordHash: string;
  role: AdminRole;
  disabled: boolean;
  sessionGeneration: number;
}

const TENANT = `id, name, external_id AS "externalId", created_at AS "createdAt"`;

export class TenantRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(db: Queryable, t: { id: string; name: string; externalId: string }): Promise<TenantRow> {
    return (await one<TenantRow>(db, `INSERT INTO tenants (id, name, external_id) VALUES ($1, $2, $3) RETURNING ${TENANT}`, [
      t.id,
      t.name,
      t.externalId,
    ]))!;
  }

  findById(tenantId: string): Promise<TenantRow | null> {
    return one<TenantRow>(this.ds, `SELECT ${TENANT} FROM tenants WHERE id = $1`, [tenantId]);
  }
}

export class AdminUserRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(db: Queryable, tenantId: string, u: { id: string; email: string; passwordHash: string; role: AdminRole }): Promise<void> {
    await db.query(`INSERT INTO admin_users (id, tenant_id, email, password_hash, role) VALUES ($1, $2, $3, $4, $5)`, [
      u.id,
      tenantId,
      u.email,
      u.passwordHash,
      u.role,
    ]);
  }

  findByEmail(tenantId: string, email: string): Promise<AdminUserRow | null> {
    return one<AdminUserRow>(
      this.ds,
      `SELECT id, tenant_id AS "tenantId", email, password_hash AS "passwordHash", role, disabled, session_generation AS "sessionGeneration" FROM admin_users
       WHERE tenant_id = $1 AND email = $2`,
      [tenantId, email],
    );
  }
}

export interface ServicePrincipalRow {
  id: string;
  tenantId: string;
  name: string;
  clientId: string;
  secretHash: string;
  disabled: boolean;
}

/** What the list route shows of a service principal (no secret material). */
export interface ServicePrincipalSummary {
  id: string;
  name: string;
  clientId: string;
  workspaceIds: string[];
  createdAt: string;
}

export class ServicePrincipalRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    db: Queryable,
    tenantId: string,
    sp: { id: string; name: string; clientId: string; secretHash: string },
    workspaceIds: string[],
  ): Promise<void> {
    await db.query(`INSERT INTO service_principals (id, tenant_id, name, client_id, secret_hash) VALUES ($1, $2, $3, $4, $5)`, [
      sp.id,
      tenantId,
      sp.name,
      sp.clientId,
      sp.secretHash,
    ]);
    if (workspaceIds.length)
      await db.query(
        `INSERT INTO service_principal_workspaces (tenant_id, service_principal_id, workspace_id)
         SELECT $1, $2, w FROM unnest($3::uuid[]) AS w`,
        [tenantId, sp.id, workspaceIds],
      );
  }

  /** Login lookup: the client id is globally unique and is how a service principal names itself. */
  findByClientId(clientId: string): Promise<ServicePrincipalRow | null> {
    return one<ServicePrincipalRow>(
      this.ds,
      `SELECT id, tenant_id AS "tenantId", name, client_id AS "clientId", secret_hash AS "secretHash", disabled
       FROM service_principals WHERE client_id = $1`,
      [clientId],
    );
  }

  async isInScope(tenantId: string, servicePrincipalId: string, workspaceId: string): Promise<boolean> {
    const r = await rows(
      this.ds,
      `SELECT 1 FROM service_principal_workspaces spw JOIN service_principals sp
         ON sp.tenant_id = spw.tenant_id AND sp.id = spw.service_principal_id
       WHERE spw.tenant_id = $1 AND spw.service_principal_id = $2 AND spw.workspace_id = $3 AND NOT sp.disabled`,
      [tenantId, servicePrincipalId, workspaceId],
    );
    return r.length > 0;
  }

  /**
   * Every service principal of one tenant, oldest first, with the workspaces it may fetch DEKs for. Never the
   * secret or its hash: this feeds a read route open to auditors.
   */
  async list(tenantId: string): Promise<ServicePrincipalSummary[]> {
    const r = await rows<Omit<ServicePrincipalSummary, 'createdAt'> & { createdAt: Date }>(
      this.ds,
      `SELECT sp.id, sp.name, sp.client_id AS "clientId", sp.created_at AS "createdAt",
         COALESCE(array_agg(spw.workspace_id ORDER BY spw.workspace_id) FILTER (WHERE spw.workspace_id IS NOT NULL), '{}') AS "workspaceIds"
       FROM service_principals sp LEFT JOIN service_principal_workspaces spw
         ON spw.tenant_id = sp.tenant_id AND spw.service_principal_id = sp.id
       WHERE sp.tenant_id = $1 GROUP BY sp.id ORDER BY sp.created_at, sp.id`,
      [tenantId],
    );
    return r.map((x) => ({ id: x.id, name: x.name, clientId: x.clientId, workspaceIds: x.workspaceIds, createdAt: new Date(x.createdAt).toISOString() }));
  }
}
