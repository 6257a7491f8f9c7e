import { KeysetPage, likeContains, ListPaging, nameAndCreationSorts, sortedPage, Where } from './keyset';
import { randomUUID } from 'node:crypto';
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
    return (await one<TenantRow>(
      db,
      `INSERT INTO tenants (id, name, external_id) VALUES ($1, $2, $3) RETURNING ${TENANT}`,
      [t.id, t.name, t.externalId],
    ))!;
  }

  findById(tenantId: string): Promise<TenantRow | null> {
    return one<TenantRow>(this.ds, `SELECT ${TENANT} FROM tenants WHERE id = $1`, [tenantId]);
  }
}

export class AdminUserRepository {
  constructor(private readonly ds: DataSource) {}

  findByEmail(tenantId: string, email: string): Promise<AdminUserRow | null> {
    return one<AdminUserRow>(
      this.ds,
      `SELECT id, tenant_id AS "tenantId", email, password_hash AS "passwordHash", role, disabled, session_generation AS "sessionGeneration" FROM admin_users
       WHERE tenant_id = $1 AND email = $2`,
      [tenantId, email],
    );
  }
}

/** A client secret the token endpoint may accept: its hash and when it stops (null = until rotated away). */
export interface ServicePrincipalSecretHash {
  id: string;
  secretHash: string;
  expiresAt: Date | null;
}

/** What the token endpoint needs to authenticate a client: only secrets that have not expired. */
export interface ServicePrincipalRow {
  id: string;
  tenantId: string;
  name: string;
  clientId: string;
  disabled: boolean;
  ipAllowList: string[];
  secrets: ServicePrincipalSecretHash[];
}

/** What the list route shows of a service principal (no secret material). */
export interface ServicePrincipalSummary {
  id: string;
  name: string;
  clientId: string;
  disabled: boolean;
  workspaceIds: string[];
  ipAllowList: string[];
  /** SHA-256 fingerprint (lowercase hex) of the client certificate the principal is bound to, or null. */
  clientCertificateSha256: string | null;
  permissions: string[];
  createdAt: string;
}

/** One principal with its secrets' ids and lifetimes (never a hash): the detail route. */
export interface ServicePrincipalDetail extends ServicePrincipalSummary {
  secrets: Array<{ id: string; createdAt: string; expiresAt: string | null }>;
}

/**
 * What an API replica caches to admit a service token: the principal's state, the generation it was read at
 * (bumped by every change) and which secret ids are live until when. Null from the repository = no such principal.
 */
export interface ServicePrincipalCredentialState {
  tenantId: string;
  disabled: boolean;
  generation: number;
  ipAllowList: string[];
  clientCertificateSha256: string | null;
  secrets: Array<{ id: string; expiresAt: Date | null }>;
}

export interface ServicePrincipalChange {
  name?: string;
  disabled?: boolean;
  workspaceIds?: string[];
  ipAllowList?: string[];
  /** null unbinds. */
  clientCertificateSha256?: string | null;
}

const LIVE_SECRET = `(expires_at IS NULL OR expires_at > now())`;

export const SERVICE_PRINCIPAL_SORTS = nameAndCreationSorts('sp.');
export type ServicePrincipalSort = keyof typeof SERVICE_PRINCIPAL_SORTS;

export interface ServicePrincipalListQuery extends ListPaging<ServicePrincipalSort> {
  search?: string;
  disabled?: boolean;
}

export class ServicePrincipalRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    db: Queryable,
    tenantId: string,
    sp: { id: string; name: string; clientId: string; secretHash: string; permissions?: readonly string[] },
    workspaceIds: string[],
  ): Promise<{ secretId: string }> {
    await db.query(
      `INSERT INTO service_principals (id, tenant_id, name, client_id, permissions) VALUES ($1, $2, $3, $4, COALESCE($5::text[], '{dek:fetch}'))`,
      [sp.id, tenantId, sp.name, sp.clientId, sp.permissions ?? null],
    );
    const secretId = randomUUID();
    await db.query(
      `INSERT INTO service_principal_secrets (id, tenant_id, service_principal_id, secret_hash) VALUES ($1, $2, $3, $4)`,
      [secretId, tenantId, sp.id, sp.secretHash],
    );
    if (workspaceIds.length)
      await db.query(
        `INSERT INTO service_principal_workspaces (tenant_id, service_principal_id, workspace_id)
         SELECT $1, $2, w FROM unnest($3::uuid[]) AS w`,
        [tenantId, sp.id, workspaceIds],
      );
    return { secretId };
  }

  /** Login lookup: the client id is globally unique and is how a service principal names itself. */
  async findByClientId(clientId: string): Promise<ServicePrincipalRow | null> {
    const r = await one<
      Omit<ServicePrincipalRow, 'secrets'> & {
        secrets: Array<{ id: string; secretHash: string; expiresAt: string | null }>;
      }
    >(
      this.ds,
      `SELECT sp.id, sp.tenant_id AS "tenantId", sp.name, sp.client_id AS "clientId", sp.disabled, sp.ip_allow_list AS "ipAllowList",
         COALESCE((SELECT json_agg(json_build_object('id', s.id, 'secretHash', s.secret_hash, 'expiresAt', s.expires_at) ORDER BY s.created_at DESC)
           FROM service_principal_secrets s WHERE s.tenant_id = sp.tenant_id AND s.service_principal_id = sp.id AND ${LIVE_SECRET}), '[]') AS secrets
       FROM service_principals sp WHERE sp.client_id = $1`,
      [clientId],
    );
    if (!r) return null;
    return {
      ...r,
      secrets: r.secrets.map((x) => ({
        id: x.id,
        secretHash: x.secretHash,
        expiresAt: x.expiresAt === null ? null : new Date(x.expiresAt),
      })),
    };
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
    const r = await rows<SummaryRow>(
      this.ds,
      `${SUMMARY} WHERE sp.tenant_id = $1 GROUP BY sp.id ORDER BY sp.created_at, sp.id`,
      [tenantId],
    );
    return r.map(summary);
  }

  /** One page of the tenant's principals (name search, disabled filter), by keyset (see keyset.ts). */
  async page(tenantId: string, q: ServicePrincipalListQuery): Promise<KeysetPage<ServicePrincipalSummary>> {
    const sort = SERVICE_PRINCIPAL_SORTS[q.sort];
    const w = new Where().add('sp.tenant_id = ?', tenantId);
    if (q.search) w.add('sp.name ILIKE ?', likeContains(q.search));
    if (q.disabled !== undefined) w.add('sp.disabled = ?::boolean', q.disabled);
    if (q.after) w.after(sort, 'sp.id', q.direction, q.after);
    const columns = `sp.id, sp.name, sp.client_id AS "clientId", sp.disabled, sp.ip_allow_list AS "ipAllowList",
       sp.client_cert_sha256 AS "clientCertificateSha256", sp.permissions, sp.created_at AS "createdAt",
       COALESCE((SELECT array_agg(spw.workspace_id ORDER BY spw.workspace_id) FROM service_principal_workspaces spw
         WHERE spw.tenant_id = sp.tenant_id AND spw.service_principal_id = sp.id), '{}') AS "workspaceIds"`;
    const page = await sortedPage<SummaryRow>(
      this.ds,
      { columns, table: 'service_principals sp', idSql: 'sp.id' },
      w,
      sort,
      q,
    );
    return { items: page.items.map(summary), last: page.last };
  }

  /** One principal of the tenant with its live secrets (ids and lifetimes only), or null. */
  async get(tenantId: string, id: string): Promise<ServicePrincipalDetail | null> {
    const r = await one<SummaryRow>(this.ds, `${SUMMARY} WHERE sp.tenant_id = $1 AND sp.id = $2 GROUP BY sp.id`, [
      tenantId,
      id,
    ]);
    if (!r) return null;
    const secrets = await rows<{ id: string; createdAt: Date; expiresAt: Date | null }>(
      this.ds,
      `SELECT id, created_at AS "createdAt", expires_at AS "expiresAt" FROM service_principal_secrets
       WHERE tenant_id = $1 AND service_principal_id = $2 AND ${LIVE_SECRET} ORDER BY created_at, id`,
      [tenantId, id],
    );
    return {
      ...summary(r),
      secrets: secrets.map((s) => ({
        id: s.id,
        createdAt: new Date(s.createdAt).toISOString(),
        expiresAt: s.expiresAt ? new Date(s.expiresAt).toISOString() : null,
      })),
    };
  }

  /**
   * Locks the principal row for a change and bumps its generation (every replica re-reads a principal whose
   * generation moved). False when the tenant has no such principal. Call inside the change's transaction.
   */
  async lockForChange(db: Queryable, tenantId: string, id: string): Promise<boolean> {
    const r = await rows(
      db,
      `UPDATE service_principals SET generation = generation + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING id`,
      [tenantId, id],
    );
    return r.length > 0;
  }

  /** Applies a change to a locked principal (see lockForChange). Workspace ids must already be checked. */
  async applyChange(db: Queryable, tenantId: string, id: string, c: ServicePrincipalChange): Promise<void> {
    await db.query(
      `UPDATE service_principals SET name = COALESCE($3, name), disabled = COALESCE($4, disabled), ip_allow_list = COALESCE($5::text[], ip_allow_list)
       WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id, c.name ?? null, c.disabled ?? null, c.ipAllowList ?? null],
    );
    if (c.clientCertificateSha256 !== undefined)
      await db.query(`UPDATE service_principals SET client_cert_sha256 = $3 WHERE tenant_id = $1 AND id = $2`, [
        tenantId,
        id,
        c.clientCertificateSha256,
      ]);
    // A disable gives every secret a new id: access tokens name the secret id they were issued for, so the tokens
    // that were out stay dead when the principal is enabled again, while the service's secret itself keeps working.
    if (c.disabled === true)
      await db.query(
        `UPDATE service_principal_secrets SET id = gen_random_uuid() WHERE tenant_id = $1 AND service_principal_id = $2`,
        [tenantId, id],
      );
    if (c.workspaceIds) {
      await db.query(
        `DELETE FROM service_principal_workspaces WHERE tenant_id = $1 AND service_principal_id = $2 AND NOT (workspace_id = ANY($3::uuid[]))`,
        [tenantId, id, c.workspaceIds],
      );
      await db.query(
        `INSERT INTO service_principal_workspaces (tenant_id, service_principal_id, workspace_id)
         SELECT $1, $2, w FROM unnest($3::uuid[]) AS w ON CONFLICT DO NOTHING`,
        [tenantId, id, c.workspaceIds],
      );
    }
  }

  async delete(db: Queryable, tenantId: string, id: string): Promise<boolean> {
    return (
      (await rows(db, `DELETE FROM service_principals WHERE tenant_id = $1 AND id = $2 RETURNING id`, [tenantId, id]))
        .length > 0
    );
  }

  /**
   * Rotation on a locked principal: the new secret is added; secrets already winding down from an earlier
   * rotation end now, and the current one(s) end after `overlapSeconds` (0 = now). So at most two secrets are
   * ever live. Returns when the previous secrets stop (null when there were none).
   */
  async rotateSecret(
    db: Queryable,
    tenantId: string,
    id: string,
    secret: { id: string; hash: string },
    overlapSeconds: number,
  ): Promise<Date | null> {
    await db.query(
      `DELETE FROM service_principal_secrets WHERE tenant_id = $1 AND service_principal_id = $2 AND (expires_at IS NOT NULL OR $3::int = 0)`,
      [tenantId, id, overlapSeconds],
    );
    const ended = await rows<{ expiresAt: Date }>(
      db,
      `UPDATE service_principal_secrets SET expires_at = now() + make_interval(secs => $3::int)
       WHERE tenant_id = $1 AND service_principal_id = $2 RETURNING expires_at AS "expiresAt"`,
      [tenantId, id, overlapSeconds],
    );
    await db.query(
      `INSERT INTO service_principal_secrets (id, tenant_id, service_principal_id, secret_hash) VALUES ($1, $2, $3, $4)`,
      [secret.id, tenantId, id, secret.hash],
    );
    return ended.length ? new Date(ended[0].expiresAt) : overlapSeconds === 0 ? new Date() : null;
  }

  /** Revokes one live secret of a locked principal now. False when it has no such live secret. */
  async deleteSecret(db: Queryable, tenantId: string, id: string, secretId: string): Promise<boolean> {
    const r = await rows(
      db,
      `DELETE FROM service_principal_secrets WHERE tenant_id = $1 AND service_principal_id = $2 AND id = $3 AND ${LIVE_SECRET} RETURNING id`,
      [tenantId, id, secretId],
    );
    return r.length > 0;
  }

  /** The state an API replica caches to admit this principal's tokens (see ServicePrincipalCredentialState). */
  async credentialState(id: string): Promise<ServicePrincipalCredentialState | null> {
    const r = await one<{
      tenantId: string;
      disabled: boolean;
      generation: string;
      ipAllowList: string[];
      clientCertificateSha256: string | null;
      secrets: Array<{ id: string; expiresAt: string | null }>;
    }>(
      this.ds,
      `SELECT sp.tenant_id AS "tenantId", sp.disabled, sp.generation, sp.ip_allow_list AS "ipAllowList", sp.client_cert_sha256 AS "clientCertificateSha256",
         COALESCE((SELECT json_agg(json_build_object('id', s.id, 'expiresAt', s.expires_at))
           FROM service_principal_secrets s WHERE s.tenant_id = sp.tenant_id AND s.service_principal_id = sp.id AND ${LIVE_SECRET}), '[]') AS secrets
       FROM service_principals sp WHERE sp.id = $1`,
      [id],
    );
    if (!r) return null;
    return {
      tenantId: r.tenantId,
      disabled: r.disabled,
      generation: Number(r.generation),
      ipAllowList: r.ipAllowList,
      clientCertificateSha256: r.clientCertificateSha256,
      secrets: r.secrets.map((s) => ({ id: s.id, expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt) })),
    };
  }

  /** Current generation of each principal that still exists (the replicas' missed-invalidation poll). */
  async generations(ids: string[]): Promise<Map<string, number>> {
    const r = await rows<{ id: string; generation: string }>(
      this.ds,
      `SELECT id, generation FROM service_principals WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(r.map((x) => [x.id, Number(x.generation)]));
  }
}

type SummaryRow = Omit<ServicePrincipalSummary, 'createdAt'> & { createdAt: Date };

const SUMMARY = `SELECT sp.id, sp.name, sp.client_id AS "clientId", sp.disabled, sp.ip_allow_list AS "ipAllowList", sp.client_cert_sha256 AS "clientCertificateSha256", sp.permissions, sp.created_at AS "createdAt",
         COALESCE(array_agg(spw.workspace_id ORDER BY spw.workspace_id) FILTER (WHERE spw.workspace_id IS NOT NULL), '{}') AS "workspaceIds"
       FROM service_principals sp LEFT JOIN service_principal_workspaces spw
         ON spw.tenant_id = sp.tenant_id AND spw.service_principal_id = sp.id`;

function summary(x: SummaryRow): ServicePrincipalSummary {
  return {
    id: x.id,
    name: x.name,
    clientId: x.clientId,
    disabled: x.disabled,
    workspaceIds: x.workspaceIds,
    ipAllowList: x.ipAllowList,
    clientCertificateSha256: x.clientCertificateSha256,
    permissions: x.permissions,
    createdAt: new Date(x.createdAt).toISOString(),
  };
}
