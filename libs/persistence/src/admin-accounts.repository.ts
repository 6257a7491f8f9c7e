import type { DataSource } from 'typeorm';
import { one, Queryable, rows } from './sql';
import type { AdminRole } from './tenants.repository';

/** What the admin-users routes show (never a password hash). */
export interface AdminUserSummary {
  id: string;
  email: string;
  role: AdminRole;
  disabled: boolean;
  createdAt: string;
}

export type OneTimeLinkKind = 'invitation' | 'password_reset';

export interface OneTimeLinkRow {
  id: string;
  tenantId: string;
  kind: OneTimeLinkKind;
  email: string;
  role: AdminRole | null;
  adminUserId: string | null;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
  revokedAt: Date | null;
}

/** Why a change to admin users was refused by the database-side rule. */
export class LastKeyAdminError extends Error {
  override readonly name = 'LastKeyAdminError';
}

const USER = `id, email, role, disabled, created_at AS "createdAt"`;
const LINK = `id, tenant_id AS "tenantId", kind, email, role, admin_user_id AS "adminUserId", created_by AS "createdBy",
  created_at AS "createdAt", expires_at AS "expiresAt", consumed_at AS "consumedAt", revoked_at AS "revokedAt"`;

const summary = (r: Omit<AdminUserSummary, 'createdAt'> & { createdAt: Date }): AdminUserSummary => ({
  ...r,
  createdAt: new Date(r.createdAt).toISOString(),
});

/**
 * Admin users' lifecycle. Every change that affects what a user may do bumps `session_generation` in the same
 * statement (the caller broadcasts it so every replica refuses older tokens). Changes that could leave a tenant
 * without an enabled key admin run under the tenant row's lock and re-count afterwards, inside one transaction:
 * two concurrent "disable each other" requests serialise on the lock and the second sees the first's result.
 */
export class AdminAccountRepository {
  constructor(private readonly ds: DataSource) {}

  async list(tenantId: string): Promise<AdminUserSummary[]> {
    const r = await rows<Omit<AdminUserSummary, 'createdAt'> & { createdAt: Date }>(
      this.ds,
      `SELECT ${USER} FROM admin_users WHERE tenant_id = $1 ORDER BY created_at, id`,
      [tenantId],
    );
    return r.map(summary);
  }

  async find(
    tenantId: string,
    id: string,
  ): Promise<(AdminUserSummary & { passwordHash: string; sessionGeneration: number }) | null> {
    const r = await one<
      Omit<AdminUserSummary, 'createdAt'> & { createdAt: Date; passwordHash: string; sessionGeneration: number }
    >(
      this.ds,
      `SELECT ${USER}, password_hash AS "passwordHash", session_generation AS "sessionGeneration" FROM admin_users WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return r ? { ...summary(r), passwordHash: r.passwordHash, sessionGeneration: r.sessionGeneration } : null;
  }

  /** The generation an access token must carry now; null when the user is disabled or gone. */
  async currentGeneration(tenantId: string, id: string): Promise<number | null> {
    const r = await one<{ gen: number; disabled: boolean }>(
      this.ds,
      `SELECT session_generation AS gen, disabled FROM admin_users WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return r && !r.disabled ? r.gen : null;
  }

  async emailExists(db: Queryable, tenantId: string, email: string): Promise<boolean> {
    return (
      (await rows(db, `SELECT 1 FROM admin_users WHERE tenant_id = $1 AND email = $2`, [tenantId, email])).length > 0
    );
  }

  async insert(
    db: Queryable,
    tenantId: string,
    u: { id: string; email: string; passwordHash: string; role: AdminRole },
  ): Promise<void> {
    await db.query(`INSERT INTO admin_users (id, tenant_id, email, password_hash, role) VALUES ($1, $2, $3, $4, $5)`, [
      u.id,
      tenantId,
      u.email,
      u.passwordHash,
      u.role,
    ]);
  }

  /**
   * Applies a role and/or disabled change and bumps the generation; throws LastKeyAdminError (rolled back) if no
   * enabled key admin would remain. Null when the user does not exist in this tenant.
   */
  async update(
    tenantId: string,
    id: string,
    change: { role?: AdminRole; disabled?: boolean },
  ): Promise<(AdminUserSummary & { generation: number; before: { role: AdminRole; disabled: boolean } }) | null> {
    return this.ds.transaction(async (m) => {
      await m.query(`SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, [tenantId]);
      const before = await one<{ role: AdminRole; disabled: boolean }>(
        m,
        `SELECT role, disabled FROM admin_users WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id],
      );
      if (!before) return null;
      const r = await one<Omit<AdminUserSummary, 'createdAt'> & { createdAt: Date; generation: number }>(
        m,
        `UPDATE admin_users SET role = COALESCE($3, role), disabled = COALESCE($4, disabled),
           session_generation = session_generation + 1, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 RETURNING ${USER}, session_generation AS generation`,
        [tenantId, id, change.role ?? null, change.disabled ?? null],
      );
      await this.assertKeyAdminRemains(m, tenantId);
      return { ...summary(r!), generation: r!.generation, before };
    });
  }

  async delete(tenantId: string, id: string): Promise<{ email: string; role: AdminRole } | null> {
    return this.ds.transaction(async (m) => {
      await m.query(`SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, [tenantId]);
      const r = await one<{ email: string; role: AdminRole }>(
        m,
        `DELETE FROM admin_users WHERE tenant_id = $1 AND id = $2 RETURNING email, role`,
        [tenantId, id],
      );
      if (!r) return null;
      await this.assertKeyAdminRemains(m, tenantId);
      return r;
    });
  }

  /** New password hash; bumps the generation (every older session ends). Returns the new generation. */
  async setPassword(db: Queryable, tenantId: string, id: string, passwordHash: string): Promise<number | null> {
    const r = await one<{ gen: number }>(
      db,
      `UPDATE admin_users SET password_hash = $3, session_generation = session_generation + 1, updated_at = now()
       WHERE tenant_id = $1 AND id = $2 RETURNING session_generation AS gen`,
      [tenantId, id, passwordHash],
    );
    return r?.gen ?? null;
  }

  private async assertKeyAdminRemains(db: Queryable, tenantId: string): Promise<void> {
    const r = await one<{ n: number }>(
      db,
      `SELECT count(*)::int AS n FROM admin_users WHERE tenant_id = $1 AND role = 'key_admin' AND NOT disabled`,
      [tenantId],
    );
    if (!r || r.n < 1) throw new LastKeyAdminError('a tenant must keep at least one enabled key admin');
  }
}

/** Invitations and password-reset links: only a hash of the token is stored; consumption is one conditional UPDATE. */
export class OneTimeLinkRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    db: Queryable,
    l: Pick<
      OneTimeLinkRow,
      'id' | 'tenantId' | 'kind' | 'email' | 'role' | 'adminUserId' | 'createdBy' | 'expiresAt'
    > & {
      tokenHash: Buffer;
    },
  ): Promise<OneTimeLinkRow> {
    return (await one<OneTimeLinkRow>(
      db,
      `INSERT INTO one_time_links (id, tenant_id, kind, email, role, admin_user_id, token_hash, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${LINK}`,
      [l.id, l.tenantId, l.kind, l.email, l.role, l.adminUserId, l.tokenHash, l.createdBy, l.expiresAt],
    ))!;
  }

  listInvitations(tenantId: string): Promise<OneTimeLinkRow[]> {
    return rows<OneTimeLinkRow>(
      this.ds,
      `SELECT ${LINK} FROM one_time_links WHERE tenant_id = $1 AND kind = 'invitation' ORDER BY created_at DESC, id LIMIT 500`,
      [tenantId],
    );
  }

  /** Live (unused, unrevoked, unexpired) link by token hash, without consuming it. */
  findLive(tokenHash: Buffer, kind: OneTimeLinkKind): Promise<OneTimeLinkRow | null> {
    return one<OneTimeLinkRow>(
      this.ds,
      `SELECT ${LINK} FROM one_time_links WHERE token_hash = $1 AND kind = $2 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
      [tokenHash, kind],
    );
  }

  /** Marks a live link used, atomically: of two concurrent uses, exactly one gets the row. */
  consume(db: Queryable, tokenHash: Buffer, kind: OneTimeLinkKind): Promise<OneTimeLinkRow | null> {
    return one<OneTimeLinkRow>(
      db,
      `UPDATE one_time_links SET consumed_at = now()
       WHERE token_hash = $1 AND kind = $2 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > now() RETURNING ${LINK}`,
      [tokenHash, kind],
    );
  }

  async revokeInvitation(tenantId: string, id: string): Promise<OneTimeLinkRow | null> {
    return one<OneTimeLinkRow>(
      this.ds,
      `UPDATE one_time_links SET revoked_at = COALESCE(revoked_at, now())
       WHERE tenant_id = $1 AND id = $2 AND kind = 'invitation' AND consumed_at IS NULL RETURNING ${LINK}`,
      [tenantId, id],
    );
  }

  /** Pending invitations to the same address (a second one would race the first for one account). */
  async pendingInvitationExists(db: Queryable, tenantId: string, email: string): Promise<boolean> {
    return (
      (
        await rows(
          db,
          `SELECT 1 FROM one_time_links WHERE tenant_id = $1 AND kind = 'invitation' AND email = $2 AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
          [tenantId, email],
        )
      ).length > 0
    );
  }

  /** Earlier unused reset links of a user stop working when a new one is sent or a password is set. */
  async revokeResets(db: Queryable, tenantId: string, adminUserId: string): Promise<void> {
    await db.query(
      `UPDATE one_time_links SET revoked_at = now() WHERE tenant_id = $1 AND admin_user_id = $2 AND kind = 'password_reset' AND consumed_at IS NULL AND revoked_at IS NULL`,
      [tenantId, adminUserId],
    );
  }
}
