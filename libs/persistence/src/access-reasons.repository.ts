import type { DataSource } from 'typeorm';
import { one, Queryable, rows } from './sql';

/** A workspace's access-reason policy (key access justifications). */
export interface WorkspaceReasonPolicy {
  readonly workspaceId: string;
  readonly deniedReasons: string[];
  readonly requireReason: boolean;
}

/**
 * The access-reason columns of `workspaces` (denied reasons, reason required) and `service_principals` (allowed
 * reasons). The DEK path reads them with its state + scope row (WorkspaceRepository.findForPrincipal); these are
 * the admin reads and the writes, which run inside the change's transaction.
 */
export class AccessReasonRepository {
  constructor(private readonly ds: DataSource) {}

  workspacePolicy(tenantId: string, workspaceId: string): Promise<WorkspaceReasonPolicy | null> {
    return one<WorkspaceReasonPolicy>(
      this.ds,
      `SELECT id AS "workspaceId", denied_access_reasons AS "deniedReasons", access_reason_required AS "requireReason"
         FROM workspaces WHERE tenant_id = $1 AND id = $2`,
      [tenantId, workspaceId],
    );
  }

  /** Locks the workspace row and returns its current policy (null: no such workspace in the tenant). */
  lockWorkspacePolicy(db: Queryable, tenantId: string, workspaceId: string): Promise<WorkspaceReasonPolicy | null> {
    return one<WorkspaceReasonPolicy>(
      db,
      `SELECT id AS "workspaceId", denied_access_reasons AS "deniedReasons", access_reason_required AS "requireReason"
         FROM workspaces WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
      [tenantId, workspaceId],
    );
  }

  async setWorkspacePolicy(
    db: Queryable,
    tenantId: string,
    workspaceId: string,
    deniedReasons: readonly string[],
    requireReason: boolean,
  ): Promise<void> {
    await db.query(
      `UPDATE workspaces SET denied_access_reasons = $3::text[], access_reason_required = $4 WHERE tenant_id = $1 AND id = $2`,
      [tenantId, workspaceId, deniedReasons, requireReason],
    );
  }

  /**
   * Bumps the generation of every principal scoped to the workspace (each replica's principal poll then drops
   * their cached DEK scope, which carries the policy) and returns their ids, to be published after commit.
   */
  async touchScopedPrincipals(db: Queryable, tenantId: string, workspaceId: string): Promise<string[]> {
    const r = await rows<{ id: string }>(
      db,
      `UPDATE service_principals SET generation = generation + 1, updated_at = now()
        WHERE tenant_id = $1 AND id IN (SELECT service_principal_id FROM service_principal_workspaces WHERE tenant_id = $1 AND workspace_id = $2)
        RETURNING id`,
      [tenantId, workspaceId],
    );
    return r.map((x) => x.id);
  }

  /** A principal's allowed reasons (null: no such principal in the tenant). */
  async principalReasons(db: Queryable, tenantId: string, principalId: string): Promise<string[] | null> {
    const r = await one<{ reasons: string[] }>(
      db,
      `SELECT allowed_access_reasons AS reasons FROM service_principals WHERE tenant_id = $1 AND id = $2`,
      [tenantId, principalId],
    );
    return r ? r.reasons : null;
  }

  async setPrincipalReasons(
    db: Queryable,
    tenantId: string,
    principalId: string,
    reasons: readonly string[],
  ): Promise<void> {
    await db.query(
      `UPDATE service_principals SET allowed_access_reasons = $3::text[] WHERE tenant_id = $1 AND id = $2`,
      [tenantId, principalId, reasons],
    );
  }
}
