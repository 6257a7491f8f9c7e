import { randomUUID } from 'node:crypto';
import type { BulkAction, BulkItemRow, BulkOperationRepository, BulkOperationRow } from '@app/persistence';
import type { Actor, KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';
import type { BindWorkspace, RequestOperation } from './workspace.use-cases';

/** The most workspaces one bulk operation may carry (a selection, or every workspace of a configuration). */
export const BULK_MAX_WORKSPACES = 1000;
/** Workspaces handled at once by one job: a bind is a wrap and an unwrap at the customer's KMS, whose quota is shared. */
const CONCURRENCY = 4;

export type BulkRequest =
  | { action: 'bind' | 'rekey'; keyConfigurationId: string; workspaceIds: string[] }
  | { action: 'rewrap'; keyConfigurationId: string };

export type BulkItemState = 'pending' | 'running' | 'succeeded' | 'failed';

/** What GET …/bulk-operations/{id} answers: the parent, its progress and each workspace's outcome in words. */
export function bulkView(b: BulkOperationRow, items: BulkItemRow[]) {
  const out = items.map((i) => {
    let state: BulkItemState;
    let error: { code: string; message: string } | null = null;
    if (i.outcome === 'pending') state = 'pending';
    else if (i.outcome === 'bound') state = 'succeeded';
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

export interface StartBulkActionCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly request: BulkRequest;
}

/**
 * POST …/bulk-operations: bind or re-key a selection of workspaces, or rewrap every workspace of a configuration, as
 * one tracked operation. The parent row, one pending item per workspace and the `bulk.requested` record commit
 * together; then one job is enqueued for the worker (RunBulkOperation) and the answer is 202 with the parent. Its
 * progress is read from the items and their child operations. If the enqueue fails after the commit (Redis down),
 * the request fails but nothing is lost: the worker's reconciler enqueues the job for the committed items.
 */
export class StartBulkAction {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ actor, tenantId, request: req }: StartBulkActionCommand) {
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
    await this.deps.dispatcher.dispatchBulk({ bulkOperationId: id, tenantId });
    const b = await repos.bulkOperations.find(tenantId, id);
    return bulkView(b!, await repos.bulkOperations.items(tenantId, id));
  }
}

/** What one run of a bulk operation's job did. */
export interface BulkRunResult {
  /** Items whose outcome this run recorded. */
  readonly handled: number;
  /** Items left pending because their workspace was busy (e.g. a bind in progress): the job runs again later. */
  readonly deferred: number;
}

/**
 * The worker's side of a bulk operation (one BullMQ job per bulk operation, libs/jobs): works through the items
 * still pending, CONCURRENCY at a time, each through the same use case a single request goes through (so each is
 * checked, audited in the transaction of its change and de-duplicated exactly as usual), as the key admin who
 * requested the bulk operation (its recorded actor; never the vendor). A first bind is done here (a wrap at the
 * customer's KMS); a re-key or rewrap becomes the ordinary operation the worker runs, and the item points to it.
 *
 * Crash safety: each item's outcome is recorded after its change committed, so a worker killed in between leaves
 * the item pending and the next run (BullMQ hands the job to another worker once the lock expires) does it again.
 * That second time is harmless: a re-bind to the same configuration is a no-op, an unfinished operation of the same
 * kind is reused (a rewrap whose operation already finished is requested once more: an extra wrap, no change of
 * key). A bind killed mid-way leaves the workspace provisioning; it is retried once BindWorkspace considers that
 * stale (WorkspaceBusy until then defers the item, and the job runs again after a backoff).
 */
export interface RunBulkOperationCommand {
  readonly tenantId: string;
  readonly bulkId: string;
  /** Stops taking new items (the job's lock was lost or the worker is stopping). */
  readonly signal?: AbortSignal;
  /** Called after each item's outcome is recorded (tests use it to stop a worker mid-way). */
  readonly onItem?: (workspaceId: string) => void | Promise<void>;
}

export class RunBulkOperation {
  constructor(
    private readonly deps: KeysDeps,
    private readonly bind: BindWorkspace,
    private readonly requestOperation: RequestOperation,
    private readonly onItemError: (err: unknown) => void,
    private readonly concurrency = CONCURRENCY,
  ) {}

  async execute(cmd: RunBulkOperationCommand): Promise<BulkRunResult> {
    const { tenantId, bulkId, ...opts } = cmd;
    const { repos } = this.deps;
    const b = await repos.bulkOperations.find(tenantId, bulkId);
    if (!b) return { handled: 0, deferred: 0 };
    const ids = await repos.bulkOperations.pendingWorkspaces(tenantId, bulkId);
    let next = 0;
    let handled = 0;
    let deferred = 0;
    const lane = async () => {
      while (next < ids.length && !opts.signal?.aborted) {
        const workspaceId = ids[next++];
        if (await this.one(b.requestedBy, tenantId, bulkId, b.action, b.keyConfigurationId, workspaceId)) {
          handled++;
          await opts.onItem?.(workspaceId);
        } else deferred++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, ids.length) }, lane));
    return { handled, deferred: deferred + (ids.length - next) };
  }

  /** Handles one workspace; false when it was left pending (the workspace is busy: try again later). */
  private async one(
    actor: Actor,
    tenantId: string,
    bulkId: string,
    action: BulkAction,
    keyConfigurationId: string,
    workspaceId: string,
  ): Promise<boolean> {
    const record = async (r: Parameters<BulkOperationRepository['recordItem']>[3]) => {
      await this.deps.repos.bulkOperations.recordItem(tenantId, bulkId, workspaceId, r);
      return true;
    };
    try {
      if (action === 'rewrap') {
        const r = await this.requestOperation.execute({ actor, tenantId, workspaceId, kind: 'cmk-rewrap' });
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
      const r = await this.bind.execute({ actor, tenantId, workspaceId, keyConfigurationId });
      return await record(
        r.kind === 'rekey' ? { outcome: 'dispatched', operationId: r.operationId } : { outcome: 'bound' },
      );
    } catch (err) {
      if (
        err instanceof DomainError &&
        err.code === ErrorCode.WorkspaceBusy &&
        (await this.provisioning(tenantId, workspaceId))
      )
        return false;
      if (err instanceof DomainError) return record({ outcome: 'failed', errorCode: err.code, error: err.message });
      // Not a refusal: the item fails with a generic reason (the detail goes to the worker's log). If even that
      // record cannot be written (the database is down), the error propagates and the job is retried with backoff.
      this.onItemError(err);
      return record({ outcome: 'failed', errorCode: 'INTERNAL', error: 'unexpected error; see the worker log' });
    }
  }

  /** A bind of this workspace is in progress (or died mid-way and is not stale yet): its item waits for it. */
  private async provisioning(tenantId: string, workspaceId: string): Promise<boolean> {
    const w = await this.deps.repos.workspaces.findById(tenantId, workspaceId);
    return w?.keyState === 'provisioning';
  }
}

export interface GetBulkOperationCommand {
  readonly tenantId: string;
  readonly bulkId: string;
}

export class GetBulkOperation {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ tenantId, bulkId: id }: GetBulkOperationCommand) {
    const b = await this.deps.repos.bulkOperations.find(tenantId, id);
    if (!b) throw new DomainError(ErrorCode.BulkOperationNotFound, 'bulk operation not found');
    return bulkView(b, await this.deps.repos.bulkOperations.items(tenantId, id));
  }
}
