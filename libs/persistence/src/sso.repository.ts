import type { DataSource } from 'typeorm';
import { one, Queryable, rows } from './sql';
import type { AdminRole } from './tenants.repository';

export interface SsoRoleMapping {
  group: string;
  role: AdminRole;
}

/** A tenant's OpenID Connect configuration as stored (the client secret only in its sealed form). */
export interface SsoConfigurationRow {
  tenantId: string;
  issuer: string;
  clientId: string;
  clientSecretSealed: Buffer;
  allowedEmailDomains: string[];
  groupsClaim: string;
  roleMappings: SsoRoleMapping[];
  ssoRequired: boolean;
  breakGlassAdminUserId: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface SsoUserRow {
  id: string;
  email: string;
  role: AdminRole;
  disabled: boolean;
}

export type SsoConfigurationInput = Omit<SsoConfigurationRow, 'tenantId' | 'version' | 'createdAt' | 'updatedAt'>;

const COLS = `tenant_id AS "tenantId", issuer, client_id AS "clientId", client_secret_sealed AS "clientSecretSealed",
  allowed_email_domains AS "allowedEmailDomains", groups_claim AS "groupsClaim", role_mappings AS "roleMappings",
  sso_required AS "ssoRequired", break_glass_admin_user_id AS "breakGlassAdminUserId", version,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** SSO configurations and the IdP identities linked to admin users. Every method takes the tenant id. */
export class SsoRepository {
  constructor(private readonly ds: DataSource) {}

  find(tenantId: string, db: Queryable = this.ds): Promise<SsoConfigurationRow | null> {
    return one<SsoConfigurationRow>(db, `SELECT ${COLS} FROM sso_configurations WHERE tenant_id = $1`, [tenantId]);
  }

  /** Insert or replace; the version moves on every write (sign-ins started under an older one are refused). */
  async upsert(db: Queryable, tenantId: string, c: SsoConfigurationInput): Promise<SsoConfigurationRow> {
    return (await one<SsoConfigurationRow>(
      db,
      `INSERT INTO sso_configurations (tenant_id, issuer, client_id, client_secret_sealed, allowed_email_domains, groups_claim, role_mappings, sso_required, break_glass_admin_user_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
       ON CONFLICT (tenant_id) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
         client_secret_sealed = EXCLUDED.client_secret_sealed, allowed_email_domains = EXCLUDED.allowed_email_domains,
         groups_claim = EXCLUDED.groups_claim, role_mappings = EXCLUDED.role_mappings, sso_required = EXCLUDED.sso_required,
         break_glass_admin_user_id = EXCLUDED.break_glass_admin_user_id,
         version = sso_configurations.version + 1, updated_at = now()
       RETURNING ${COLS}`,
      [
        tenantId,
        c.issuer,
        c.clientId,
        c.clientSecretSealed,
        c.allowedEmailDomains,
        c.groupsClaim,
        JSON.stringify(c.roleMappings),
        c.ssoRequired,
        c.breakGlassAdminUserId,
      ],
    ))!;
  }

  async delete(db: Queryable, tenantId: string): Promise<boolean> {
    return (
      (await rows(db, `DELETE FROM sso_configurations WHERE tenant_id = $1 RETURNING tenant_id`, [tenantId])).length > 0
    );
  }

  /** The admin user an IdP subject is linked to, if any. */
  async linkedUser(db: Queryable, tenantId: string, issuer: string, subject: string): Promise<string | null> {
    const r = await one<{ id: string }>(
      db,
      `SELECT admin_user_id AS id FROM sso_identities WHERE tenant_id = $1 AND issuer = $2 AND subject = $3`,
      [tenantId, issuer, subject],
    );
    return r?.id ?? null;
  }

  /** The IdP subject an admin user is linked to under this issuer, if any. */
  async linkedSubject(db: Queryable, tenantId: string, adminUserId: string, issuer: string): Promise<string | null> {
    const r = await one<{ subject: string }>(
      db,
      `SELECT subject FROM sso_identities WHERE tenant_id = $1 AND admin_user_id = $2 AND issuer = $3`,
      [tenantId, adminUserId, issuer],
    );
    return r?.subject ?? null;
  }

  /** The fields sign-in needs of an admin user, by email or by id (inside the sign-in's transaction). */
  userByEmail(db: Queryable, tenantId: string, email: string): Promise<SsoUserRow | null> {
    return one<SsoUserRow>(
      db,
      `SELECT id, email, role, disabled FROM admin_users WHERE tenant_id = $1 AND email = $2`,
      [tenantId, email],
    );
  }

  userById(db: Queryable, tenantId: string, id: string): Promise<SsoUserRow | null> {
    return one<SsoUserRow>(db, `SELECT id, email, role, disabled FROM admin_users WHERE tenant_id = $1 AND id = $2`, [
      tenantId,
      id,
    ]);
  }

  /**
   * The IdP moved the user to another role: follow it with a new session generation. Returns the generation and
   * whether an enabled key admin remains (the caller rolls back when not). Call under the tenant row's lock.
   */
  async syncRole(
    db: Queryable,
    tenantId: string,
    id: string,
    role: AdminRole,
  ): Promise<{ generation: number; keyAdminRemains: boolean }> {
    const r = await one<{ gen: number }>(
      db,
      `UPDATE admin_users SET role = $3, session_generation = session_generation + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING session_generation AS gen`,
      [tenantId, id, role],
    );
    const n = await one<{ n: number }>(
      db,
      `SELECT count(*)::int AS n FROM admin_users WHERE tenant_id = $1 AND role = 'key_admin' AND NOT disabled`,
      [tenantId],
    );
    return { generation: r!.gen, keyAdminRemains: !!n && n.n > 0 };
  }

  async link(db: Queryable, tenantId: string, adminUserId: string, issuer: string, subject: string): Promise<void> {
    await db.query(`INSERT INTO sso_identities (tenant_id, admin_user_id, issuer, subject) VALUES ($1, $2, $3, $4)`, [
      tenantId,
      adminUserId,
      issuer,
      subject,
    ]);
  }
}
