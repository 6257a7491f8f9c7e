import { one, rows, type Queryable } from '@app/persistence';
import type { DataSource } from 'typeorm';

export type FactorKind = 'totp' | 'passkey';
export type MfaPolicy = 'none' | 'mfa_required' | 'passkey_required_for_key_admins';
export const MFA_POLICIES: readonly MfaPolicy[] = ['none', 'mfa_required', 'passkey_required_for_key_admins'];

/** What the factor routes show: never a secret, public key or counter. */
export interface FactorView {
  id: string;
  kind: FactorKind;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface FactorRow extends FactorView {
  confirmed: boolean;
  totpSecret: Buffer | null;
  lastUsedStep: number | null;
  credentialId: string | null;
  publicKey: Buffer | null;
  signCount: number | null;
  transports: string[] | null;
}

const COLS = `id, kind, label, confirmed, totp_secret AS "totpSecret", last_used_step::float8 AS "lastUsedStep",
  credential_id AS "credentialId", public_key AS "publicKey", sign_count::float8 AS "signCount", transports,
  created_at AS "createdAt", last_used_at AS "lastUsedAt"`;

type RawRow = Omit<FactorRow, 'createdAt' | 'lastUsedAt'> & { createdAt: Date; lastUsedAt: Date | null };
const fromRaw = (r: RawRow): FactorRow => ({
  ...r,
  createdAt: new Date(r.createdAt).toISOString(),
  lastUsedAt: r.lastUsedAt ? new Date(r.lastUsedAt).toISOString() : null,
});

export const factorView = (f: FactorRow): FactorView => ({
  id: f.id,
  kind: f.kind,
  label: f.label,
  createdAt: f.createdAt,
  lastUsedAt: f.lastUsedAt,
});

/**
 * Factors, recovery codes and the tenant policy. Every statement names the tenant and the user: a factor id from
 * another tenant finds nothing. Single-use is enforced by conditional UPDATEs (one winner under concurrency).
 */
export class MfaRepository {
  constructor(readonly ds: DataSource) {}

  async factors(tenantId: string, userId: string, db: Queryable = this.ds): Promise<FactorRow[]> {
    const r = await rows<RawRow>(
      db,
      `SELECT ${COLS} FROM admin_mfa_factors WHERE tenant_id = $1 AND admin_user_id = $2 ORDER BY created_at, id`,
      [tenantId, userId],
    );
    return r.map(fromRaw);
  }

  async factor(tenantId: string, userId: string, id: string): Promise<FactorRow | null> {
    const r = await one<RawRow>(
      this.ds,
      `SELECT ${COLS} FROM admin_mfa_factors WHERE tenant_id = $1 AND admin_user_id = $2 AND id = $3`,
      [tenantId, userId, id],
    );
    return r ? fromRaw(r) : null;
  }

  async insertTotp(
    db: Queryable,
    f: { id: string; tenantId: string; userId: string; label: string; secret: Buffer },
  ): Promise<void> {
    // One pending (unconfirmed) TOTP set-up per user at a time: a new one replaces the old.
    await db.query(
      `DELETE FROM admin_mfa_factors WHERE tenant_id = $1 AND admin_user_id = $2 AND kind = 'totp' AND NOT confirmed`,
      [f.tenantId, f.userId],
    );
    await db.query(
      `INSERT INTO admin_mfa_factors (id, tenant_id, admin_user_id, kind, label, totp_secret) VALUES ($1, $2, $3, 'totp', $4, $5)`,
      [f.id, f.tenantId, f.userId, f.label, f.secret],
    );
  }

  /**
   * Records a verified TOTP step: succeeds only if no code of this step (or a later one) was accepted before, so a
   * code cannot be used twice even by two concurrent requests. Confirms a pending factor on its first code.
   */
  async useTotpStep(db: Queryable, tenantId: string, userId: string, id: string, step: number): Promise<boolean> {
    const r = await rows(
      db,
      `UPDATE admin_mfa_factors SET last_used_step = $4, last_used_at = now(), confirmed = true
       WHERE tenant_id = $1 AND admin_user_id = $2 AND id = $3 AND kind = 'totp' AND (last_used_step IS NULL OR last_used_step < $4)
       RETURNING id`,
      [tenantId, userId, id, step],
    );
    return r.length === 1;
  }

  async insertPasskey(
    db: Queryable,
    f: {
      id: string;
      tenantId: string;
      userId: string;
      label: string;
      credentialId: string;
      publicKey: Buffer;
      signCount: number;
      transports: string[];
    },
  ): Promise<void> {
    await db.query(
      `INSERT INTO admin_mfa_factors (id, tenant_id, admin_user_id, kind, label, confirmed, credential_id, public_key, sign_count, transports)
       VALUES ($1, $2, $3, 'passkey', $4, true, $5, $6, $7, $8)`,
      [f.id, f.tenantId, f.userId, f.label, f.credentialId, f.publicKey, f.signCount, f.transports],
    );
  }

  /** Stores the authenticator's new signature count, only if nobody else moved it since it was read. */
  async usePasskey(
    tenantId: string,
    userId: string,
    id: string,
    expectedCount: number,
    newCount: number,
  ): Promise<boolean> {
    const r = await rows(
      this.ds,
      `UPDATE admin_mfa_factors SET sign_count = $5, last_used_at = now()
       WHERE tenant_id = $1 AND admin_user_id = $2 AND id = $3 AND kind = 'passkey' AND sign_count = $4 RETURNING id`,
      [tenantId, userId, id, expectedCount, newCount],
    );
    return r.length === 1;
  }

  async deleteFactor(db: Queryable, tenantId: string, userId: string, id: string): Promise<FactorRow | null> {
    const r = await one<RawRow>(
      db,
      `DELETE FROM admin_mfa_factors WHERE tenant_id = $1 AND admin_user_id = $2 AND id = $3 RETURNING ${COLS}`,
      [tenantId, userId, id],
    );
    return r ? fromRaw(r) : null;
  }

  async confirmedCount(db: Queryable, tenantId: string, userId: string): Promise<number> {
    const r = await one<{ n: number }>(
      db,
      `SELECT count(*)::int AS n FROM admin_mfa_factors WHERE tenant_id = $1 AND admin_user_id = $2 AND confirmed`,
      [tenantId, userId],
    );
    return r?.n ?? 0;
  }

  /** Removes every factor and recovery code of the user; returns how many factors there were. */
  async deleteAll(db: Queryable, tenantId: string, userId: string): Promise<number> {
    const r = await rows(db, `DELETE FROM admin_mfa_factors WHERE tenant_id = $1 AND admin_user_id = $2 RETURNING id`, [
      tenantId,
      userId,
    ]);
    await db.query(`DELETE FROM admin_recovery_codes WHERE tenant_id = $1 AND admin_user_id = $2`, [tenantId, userId]);
    return r.length;
  }

  /** Ends every session of the user (the caller publishes the new generation). Null when the user is not in the tenant. */
  async bumpGeneration(db: Queryable, tenantId: string, userId: string): Promise<number | null> {
    const r = await one<{ gen: number }>(
      db,
      `UPDATE admin_users SET session_generation = session_generation + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING session_generation AS gen`,
      [tenantId, userId],
    );
    return r?.gen ?? null;
  }

  async replaceRecoveryCodes(db: Queryable, tenantId: string, userId: string, hashes: Buffer[]): Promise<void> {
    await db.query(`DELETE FROM admin_recovery_codes WHERE tenant_id = $1 AND admin_user_id = $2`, [tenantId, userId]);
    await db.query(
      `INSERT INTO admin_recovery_codes (tenant_id, admin_user_id, code_hash) SELECT $1, $2, h FROM unnest($3::bytea[]) AS h`,
      [tenantId, userId, hashes],
    );
  }

  async deleteRecoveryCodes(db: Queryable, tenantId: string, userId: string): Promise<void> {
    await db.query(`DELETE FROM admin_recovery_codes WHERE tenant_id = $1 AND admin_user_id = $2`, [tenantId, userId]);
  }

  /** Spends one code: true for exactly one caller, once. */
  async useRecoveryCode(tenantId: string, userId: string, hash: Buffer): Promise<boolean> {
    const r = await rows(
      this.ds,
      `UPDATE admin_recovery_codes SET used_at = now() WHERE tenant_id = $1 AND admin_user_id = $2 AND code_hash = $3 AND used_at IS NULL RETURNING 1`,
      [tenantId, userId, hash],
    );
    return r.length === 1;
  }

  async recoveryCodesLeft(tenantId: string, userId: string): Promise<number> {
    const r = await one<{ n: number }>(
      this.ds,
      `SELECT count(*)::int AS n FROM admin_recovery_codes WHERE tenant_id = $1 AND admin_user_id = $2 AND used_at IS NULL`,
      [tenantId, userId],
    );
    return r?.n ?? 0;
  }

  async policy(tenantId: string): Promise<MfaPolicy> {
    const r = await one<{ policy: MfaPolicy }>(this.ds, `SELECT policy FROM tenant_mfa_policies WHERE tenant_id = $1`, [
      tenantId,
    ]);
    return r?.policy ?? 'none';
  }

  async setPolicy(db: Queryable, tenantId: string, policy: MfaPolicy, actor: string): Promise<MfaPolicy> {
    const before = await one<{ policy: MfaPolicy }>(
      db,
      `SELECT policy FROM tenant_mfa_policies WHERE tenant_id = $1 FOR UPDATE`,
      [tenantId],
    );
    await db.query(
      `INSERT INTO tenant_mfa_policies (tenant_id, policy, updated_by) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id) DO UPDATE SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = now()`,
      [tenantId, policy, actor],
    );
    return before?.policy ?? 'none';
  }
}
