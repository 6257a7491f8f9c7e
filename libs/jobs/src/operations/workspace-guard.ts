import type { DataSource } from 'typeorm';
import { inTransaction, withSql } from '../store/sql';
import type { WorkspaceKeyRow, WorkspaceKeyState, WorkspaceKeyStore } from '../store/workspace-key-store';
import { OperationFailure } from './operation-errors';

/**
 * Enter an operation's working state (active → rewrapping | rekeying | kek_rotating) with a compare-and-set, or
 * accept that we are already in it (a re-run after a crash). Anything else is a conflict: a shredded or suspect
 * workspace is not rotated.
 */
export async function enterWorkingState(
  ds: DataSource,
  store: WorkspaceKeyStore,
  tenantId: string,
  workspaceId: string,
  working: WorkspaceKeyState,
  extra: { keyConfigurationId?: string } = {},
): Promise<WorkspaceKeyRow> {
  for (let tries = 0; tries < 3; tries++) {
    const ws = await withSql(ds, (sql) => store.workspace(sql, tenantId, workspaceId));
    if (!ws) throw new OperationFailure('WORKSPACE_NOT_FOUND', 'the workspace no longer exists');
    if (ws.keyState === working) return ws;
    if (ws.keyState !== 'active') {
      throw new OperationFailure('WORKSPACE_STATE_CONFLICT', `the workspace is ${ws.keyState}; this operation needs it active`);
    }
    const moved = await inTransaction(ds, (sql) =>
      store.transition(sql, tenantId, workspaceId, ['active'], working, { ...extra, expectedStateVersion: ws.stateVersion }),
    );
    if (moved) return { ...ws, keyState: working, stateVersion: ws.stateVersion + 1 };
  }
  throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace kept changing under the operation');
}

/** Leave a working state back to active (used on success and to undo on permanent failure). */
export async function leaveWorkingState(
  ds: DataSource,
  store: WorkspaceKeyStore,
  tenantId: string,
  workspaceId: string,
  working: WorkspaceKeyState,
): Promise<boolean> {
  return inTransaction(ds, (sql) => store.transition(sql, tenantId, workspaceId, [working], 'active'));
}

/**
 * After a compare-and-set that found nothing to move: a workspace destroyed under a running operation fails the
 * operation (it must not report success for keys that no longer exist). Any other state is left to the caller.
 */
export async function failIfDestroyed(ds: DataSource, store: WorkspaceKeyStore, tenantId: string, workspaceId: string): Promise<void> {
  const ws = await withSql(ds, (sql) => store.workspace(sql, tenantId, workspaceId));
  if (!ws || ws.keyState === 'destroyed') throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace was destroyed while the operation ran; nothing was written');
}
