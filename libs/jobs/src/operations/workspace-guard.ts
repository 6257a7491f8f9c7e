import type { KeyStateName, Queryable, WorkspaceRepository, WorkspaceRow } from '@app/persistence';
import type { DataSource } from 'typeorm';
import { OperationFailure } from './operation-errors';

/**
 * Enter an operation's working state (active → rewrapping | rekeying | kek_rotating) with a compare-and-set, or
 * accept that we are already in it (a re-run after a crash). Anything else is a conflict: a shredded workspace is
 * never rotated, and only a KEK rotation may start from `access_suspect` (`from`). `onEnter` runs in the
 * transaction of the move, with the state it left (so the operation can record where to return, atomically).
 */
export async function enterWorkingState(
  ds: DataSource,
  workspaces: WorkspaceRepository,
  tenantId: string,
  workspaceId: string,
  working: KeyStateName,
  from: readonly KeyStateName[] = ['active'],
  onEnter?: (db: Queryable, left: KeyStateName) => Promise<void>,
): Promise<WorkspaceRow> {
  for (let tries = 0; tries < 3; tries++) {
    const ws = await workspaces.findById(tenantId, workspaceId);
    if (!ws) throw new OperationFailure('WORKSPACE_NOT_FOUND', 'the workspace no longer exists');
    if (ws.keyState === working) return ws;
    if (!from.includes(ws.keyState)) {
      throw new OperationFailure(
        'WORKSPACE_STATE_CONFLICT',
        `the workspace is ${ws.keyState}; this operation needs it ${from.join(' or ')}`,
      );
    }
    const left = ws.keyState;
    const moved = await ds.transaction(async (m) => {
      const row = await workspaces.transition(m, tenantId, workspaceId, {
        from: [left],
        to: working,
        expectedVersion: ws.stateVersion,
      });
      if (row && onEnter) await onEnter(m, left);
      return row;
    });
    if (moved) return moved;
  }
  throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace kept changing under the operation');
}

/**
 * Leave a working state (used on success and to undo on permanent failure): back to active, or to the state the
 * operation started from (a KEK rotation started in `access_suspect` returns there: only a probe clears a suspicion).
 */
export async function leaveWorkingState(
  ds: DataSource,
  workspaces: WorkspaceRepository,
  tenantId: string,
  workspaceId: string,
  working: KeyStateName,
  opts: {
    /** Where to go: active (default), or the state the operation started from. */
    to?: KeyStateName;
    /** Runs in the same transaction when the workspace did leave the state (its audit record). */
    onLeft?: (db: Queryable) => Promise<unknown>;
  } = {},
): Promise<boolean> {
  return ds.transaction(async (m) => {
    const left = await workspaces.transition(m, tenantId, workspaceId, { from: [working], to: opts.to ?? 'active' });
    if (left && opts.onLeft) await opts.onLeft(m);
    return left !== null;
  });
}

/**
 * After a compare-and-set that found nothing to move: a workspace destroyed under a running operation fails the
 * operation (it must not report success for keys that no longer exist). Any other state is left to the caller.
 */
export async function failIfDestroyed(
  workspaces: WorkspaceRepository,
  tenantId: string,
  workspaceId: string,
): Promise<void> {
  const ws = await workspaces.findById(tenantId, workspaceId);
  if (!ws || ws.keyState === 'destroyed')
    throw new OperationFailure(
      'WORKSPACE_STATE_CONFLICT',
      'the workspace was destroyed while the operation ran; nothing was written',
    );
}
