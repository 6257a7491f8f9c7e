import { OperationKind } from '@app/jobs';
import type { KeysDeps } from './context';
import { createAndDispatch } from './workspace.use-cases';

/** States a wrap-limit KEK rotation may be requested from (the scheduled rotation check uses the same rule). */
const ROTATABLE: readonly string[] = ['active', 'kek_rotating', 'access_suspect'];

export interface RequestWrapLimitRotationCommand {
  readonly tenantId: string;
  readonly workspaceId: string;
}

/**
 * Platform-requested KEK rotation when a KEK version reaches its wrap threshold or hard cap (the DEK path calls
 * this at once, not at the next scheduled check). De-duplicated by the operations table. From `access_suspect`
 * too: a workspace stuck there must not keep one KEK past its GCM budget; if the customer key is really revoked
 * the rotation fails like any rotation (it cannot wrap the new KEK) and shreds nothing.
 */
export class RequestWrapLimitRotation {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ tenantId, workspaceId }: RequestWrapLimitRotationCommand): Promise<string | null> {
    const w = await this.deps.repos.workspaces.findById(tenantId, workspaceId);
    if (!w || !ROTATABLE.includes(w.keyState)) return null;
    const op = await createAndDispatch(this.deps, 'keyhold', tenantId, workspaceId, OperationKind.KekRotation);
    return op.id;
  }
}
