import type { Actor, KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';
import { workspaceView } from './views';

export interface DestroyWorkspaceInput {
  /** The workspace's name, typed back by the admin: a destroy is irreversible and must never be a slip. */
  readonly confirm: unknown;
}

export interface DestroyWorkspaceCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly input: DestroyWorkspaceInput;
}

/**
 * DELETE workspace: a deliberate crypto-shred of one workspace, without touching the customer's key (which other
 * workspaces may use). In one transaction under the workspace row lock, every DEK row and every KEK version row is
 * deleted and the workspace becomes a `destroyed` tombstone (no binding, no KEK version). Nothing can reopen it:
 * no stored form of its KEK exists any more under any key, a database trigger refuses any KEK form written for it
 * later, and every transition (reinstate, re-bind, operations) refuses `destroyed`.
 *
 * Jobs running on it at that moment lose every compare-and-set they try afterwards (their rows and their
 * workspace state are gone), so they fail without writing anything. After the commit, plaintext KEKs and cached
 * state/rows are dropped on every replica through the same broadcast + poll as a revocation shred.
 */
export class DestroyWorkspace {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ actor, tenantId, workspaceId, input }: DestroyWorkspaceCommand) {
    const { repos } = this.deps;
    const destroyed = await repos.ds.transaction(async (m) => {
      const w = await repos.workspaces.lockById(m, tenantId, workspaceId);
      if (!w) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
      if (w.keyState === 'destroyed')
        throw new DomainError(ErrorCode.WorkspaceDestroyed, 'the workspace was already destroyed');
      if (typeof input.confirm !== 'string' || input.confirm !== w.name)
        throw new DomainError(
          ErrorCode.ConfirmationMismatch,
          'type the workspace name exactly in "confirm" to destroy it; nothing was changed',
        );
      const r = await repos.workspaces.destroy(m, tenantId, workspaceId);
      if (!r) throw new DomainError(ErrorCode.WorkspaceDestroyed, 'the workspace was already destroyed');
      return { ...r, from: w.keyState, name: w.name };
    });
    // The tombstone is committed: from here the DEK path answers 410 on any replica that re-reads the state. The
    // broadcast makes that immediate; if Redis is unreachable, each replica's state_version poll still drops the
    // cached KEKs and state within one poll interval, so a failed publish does not undo or hide the destruction.
    let broadcast = true;
    await this.deps.kekInvalidator.shredWorkspace(tenantId, workspaceId).catch(() => {
      broadcast = false;
    });
    await this.deps.audit.append(tenantId, {
      actor,
      action: 'workspace.destroyed',
      target: `workspace:${workspaceId}`,
      outcome: 'success',
      details: {
        name: destroyed.name,
        from: destroyed.from,
        kekVersionsDeleted: destroyed.kekVersions,
        deksDeleted: destroyed.deks,
        broadcast,
      },
    });
    return workspaceView(destroyed.row);
  }
}
