import type { OperationRow } from '@app/persistence';

/** What a handler sees of the operation it runs. */
export interface OperationContext {
  readonly op: OperationRow;
  /** Aborted when the worker shuts down: long loops stop at the next checkpoint. */
  readonly signal: AbortSignal;
  /**
   * Record that the operation reached `step` (and merge `params`, e.g. the KEK version being created) on the
   * operation row. Re-runs read the row and skip what is done; operators see where it stands.
   */
  step(name: string, params?: Record<string, unknown>): Promise<void>;
  /** A step already recorded by the handler's own transaction (e.g. a batch): only notifies the step hook. */
  reached(name: string): Promise<void>;
}

export type HandlerResult =
  /** Finished; `result` is stored on the operation row. */
  | { readonly kind: 'done'; readonly result?: Record<string, unknown> }
  /** Not finished and nothing to do now (e.g. awaiting a confirmation probe): run again after delayMs. */
  | { readonly kind: 'wait'; readonly delayMs: number; readonly reason: string };

/**
 * One operation kind's use case. `execute` must be idempotent and safe to re-run from any point: it reads the
 * operation and workspace rows, skips finished steps, and commits only through compare-and-set.
 */
export interface OperationHandler {
  readonly kind: string;
  /**
   * The exclusive lock the job runs under (a session advisory lock, released by Postgres if the worker dies):
   * rotations lock the workspace, probes lock the key configuration. Null for none.
   */
  lockKey(op: OperationRow): string | null;
  execute(ctx: OperationContext): Promise<HandlerResult>;
}

/** The lock of the operations that change a workspace's KEK forms (rotation, CMK rewrap, re-key, reinstate): one at a time per workspace. */
export function workspaceLock(op: Pick<OperationRow, 'workspaceId'>): string {
  return `workspace:${op.workspaceId}`;
}

/**
 * Test seam: called after each step is recorded (e.g. a child process that SIGKILLs itself at step K). `op` is
 * the operation for operation jobs; a bulk operation's job reports `('bulk-operation', 'item-recorded')` alone.
 */
export type StepHook = (kind: string, step: string, op?: OperationRow) => void | Promise<void>;
