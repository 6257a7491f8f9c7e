import { randomUUID } from 'node:crypto';
import type { BulkAction, BulkItemRow, BulkOperationRow } from '@app/persistence';
import type { Actor, KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';
import type { BindWorkspace, RequestOperation } from './workspace.use-cases';

/** The most workspaces one bulk operation may carry (a selection, or every workspace of a configuration). */
export const BULK_MAX_WORKSPACES = 1000;
/** Workspaces handled at once: a bind is a wrap and an unwrap at the customer's KMS, whose quota is shared. */
const CONCURRENCY = 4;
/** A pending item nobody touched for this long was left by a replica that stopped mid-way. */
const INTERRUPTED_AFTER_MS = 10 * 60_000;

export type BulkRequest =
  | { action: 'bind' | 'rekey'; keyConfigurationId: string; workspaceIds: string[] }
  | { action: 'rewrap'; keyConfigurationId: string };

export type BulkItemState = 'pending' | 'running' | 'succeeded' | 'failed';

/** What GET …/bulk-operations/{id} answers: the parent, its progress and each workspace's outcome in words. */
export function bulkView(b: BulkOperationRow, items: BulkItemRow[], now = Date.now()) {
  const out = items.map((i) => {
    let state: BulkItemState;
    let error: { code: string; message: string } | null = null;
    if (i.outcome === 'pending') {
      state = now - new Date(i.updatedAt).getTime() > INTERRUPTED_AFTER_MS ? 'failed' : 'pending';
      if (state === 'failed')
        error = {
          code: 'INTERRUPTED',
          message:
            'the replica handling this bulk operation stopped before this workspace; run the action again for it',
        };
    } else if (i.outcome === 'bound') state = 'succeeded';
    else if (i.outcome === 'failed') {
      state = 'failed';
      error = { code: i.errorCode ?? 'FAILED', message: i.error ?? 'failed' };
    } else if (i.childState === 'succeeded') state = 'succeeded';
    else if (i.childState === 'failed') {
      state = 'failed';
      error = { code: 'OPERATION_FAILED', message: i.childError ?? 'the operation failed' };
    } else state = 'running';
    return { workspaceId: i.workspaceId, workspaceName: i.workspaceName, state, operationId: i.operationId, error };
  });
  const count = (s: BulkItemState) => out.filter((i) => i.state === s).length;
  const counts = {
    pending: count('pending'),
    running: count('running'),
    succeeded: count('succeeded'),
    failed: count('failed'),
  };
  const done = counts.succeeded + counts.failed;
  return {
    id: b.id,
    kind: 'bulk' as const,
    action: b.action,
    keyConfigurationId: b.keyConfigurationId,
    requestedBy: b.requestedBy,
    createdAt: b.createdAt,
    state: done < out.length ? ('running' as const) : counts.failed ? ('failed' as const) : ('succeeded' as const),
    progress: { done, total: out.length },
    counts,
    items: out,
  };
}

/**
 * POST …/bulk-operations: bind or re-key a selection of workspaces, or rewrap every workspace of a configuration, as
 * one tracked operation. The parent row, one pending item per workspace and the `bulk.requested` record commit
 * together; then each workspace goes through the same use case a single request would (so each is audited, checked
 * and de-duplicated exactly as usual): a first bind is done here (a wrap at the customer's KMS), a re-key or rewrap
 * becomes the ordinary operation the worker runs, and the item points to it. The answer is 202 with the parent; its
 * progress is read from the items and their child operations.
 *
 * The items are handled by the replica that accepted the request, after the answer, a few at a time. A replica that
 * stops mid-way leaves items pending; after INTERRUPTED_AFTER_MS the view reports them failed (INTERRUPTED), and
 * running the action again for them is safe (each step is idempotent: a re-bind to the same configuration is a no-op,
 * an unfinished operation of the same kind is reused).
 */
export class StartBulkAction {
  constructor(
    private readonly deps: KeysDeps,
    private readonly bind: BindWorkspace,
    private readonly requestOperation: RequestOperation,
    private readonly onBackgroundError: (err: unknown) => void,
  ) {}

  async execute(actor: Actor, tenantId: string, req: BulkRequest) {
    const { repos } = this.deps;
    const kc = await repos.keyConfigurations.findById(tenantId, req.keyConfigurationId);
    if (!kc) throw new DomainError(ErrorCode.KeyConfigurationNotFound, 'key configuration not found');
    let workspaceIds: string[];
    if (req.action === 'rewrap') {
      workspaceIds = (await repos.workspaces.boundTo(tenantId, kc.id))
        .filter((w) => w.keyState !== 'destroyed')
        .map((w) => w.id);
      if (!workspaceIds.length)
        throw new DomainError(
          ErrorCode.ValidationFailed,
          'no workspace uses this key configuration: there is nothing to rewrap',
        );
    } else {
      if (kc.status !== 'valid')
        throw new DomainError(
          ErrorCode.KeyConfigurationInvalid,
          'the key configuration did not pass validation; fix it and validate again before binding',
        );
      workspaceIds = [...new Set(req.workspaceIds.map((w) => w.toLowerCase()))];
    }
    if (workspaceIds.length > BULK_MAX_WORKSPACES)
      throw new DomainError(
        ErrorCode.BulkSelectionTooLarge,
        `a bulk operation carries at most ${BULK_MAX_WORKSPACES} workspaces; this one would carry ${workspaceIds.length} (select fewer, or filter first)`,
      );
    const id = randomUUID();
    await repos.ds.transaction(async (m) => {
      await repos.bulkOperations.create(
        m,
        tenantId,
        { id, action: req.action, keyConfigurationId: kc.id, requestedBy: actor },
        workspaceIds,
      );
      await this.deps.audit.append(
        tenantId,
        {
          actor,
          action: 'bulk.requested',
          target: `bulk_operation:${id}`,
          outcome: 'success',
          details: { action: req.action, keyConfigurationId: kc.id, workspaces: workspaceIds.length },
        },
        m,
      );
    });
    void this.run(actor, tenantId, id, req.action, kc.id, workspaceIds).catch(this.onBackgroundError);
    const b = await repos.bulkOperations.find(tenantId, id);
    return bulkView(b!, await repos.bulkOperations.items(tenantId, id));
  }

  private async run(
    actor: Actor,
    tenantId: string,
    bulkId: string,
    action: BulkAction,
    keyConfigurationId: string,
    ids: string[],
  ) {
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const workspaceId = ids[next++];
        await this.one(actor, tenantId, bulkId, action, keyConfigurationId, workspaceId);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
  }

  private async one(
    actor: Actor,
    tenantId: string,
    bulkId: string,
    action: BulkAction,
    keyConfigurationId: string,
    workspaceId: string,
  ) {
    const record = this.deps.repos.bulkOperations.recordItem.bind(
      this.deps.repos.bulkOperations,
      tenantId,
      bulkId,
      workspaceId,
    );
    try {
      if (action === 'rewrap') {
        const r = await this.requestOperation.execute(actor, tenantId, workspaceId, 'cmk-rewrap');
        return await record({ outcome: 'dispatched', operationId: r.operationId });
      }
      if (action === 'rekey') {
        const w = await this.deps.repos.workspaces.findById(tenantId, workspaceId);
        if (w && (w.keyState === 'unbound' || w.keyState === 'provisioning'))
          return await record({
            outcome: 'failed',
            errorCode: ErrorCode.WorkspaceUnbound,
            error: 'the workspace is not bound yet: bind it instead of re-keying',
          });
      }
      const r = await this.bind.execute(actor, tenantId, workspaceId, keyConfigurationId);
      await record(r.kind === 'rekey' ? { outcome: 'dispatched', operationId: r.operationId } : { outcome: 'bound' });
    } catch (err) {
      if (err instanceof DomainError) return record({ outcome: 'failed', errorCode: err.code, error: err.message });
      await record({ outcome: 'failed', errorCode: 'INTERNAL', error: 'unexpected error; see the server log' });
      this.onBackgroundError(err);
    }
  }
}

export class GetBulkOperation {
  constructor(private readonly deps: KeysDeps) {}

  async execute(tenantId: string, id: string) {
    const b = await this.deps.repos.bulkOperations.find(tenantId, id);
    if (!b) throw new DomainError(ErrorCode.BulkOperationNotFound, 'bulk operation not found');
    return bulkView(b, await this.deps.repos.bulkOperations.items(tenantId, id));
  }
}
