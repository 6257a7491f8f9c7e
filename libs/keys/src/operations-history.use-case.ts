import type { OperationHistoryRow, OperationKindName, OperationState } from '@app/persistence';
import type { KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';
import { operationView } from './views';

export const OPERATION_STATES: readonly OperationState[] = ['queued', 'running', 'succeeded', 'failed'];
export const HISTORY_KINDS: readonly OperationKindName[] = ['cmk-rewrap', 'rekey', 'kek-rotation', 'revocation-check', 'reinstate'];

export interface OperationHistoryInput {
  workspaceId?: string;
  kinds?: OperationKindName[];
  states?: OperationState[];
  /** Opaque: the `next` of the previous page. */
  cursor?: string;
  limit?: number;
}

/** The history view of one operation: the single-operation view plus who asked and when it started. */
export function historyView(o: OperationHistoryRow) {
  return { ...operationView(o), requestedBy: o.requestedBy, startedAt: o.startedAt };
}

const encodeCursor = (o: OperationHistoryRow) => Buffer.from(`${o.cursorKey}|${o.id}`).toString('base64url');

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const bad = () => new DomainError(ErrorCode.ValidationFailed, 'cursor: not a cursor this API returned');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw bad();
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(createdAt ?? '') || !/^[0-9a-f-]{36}$/.test(id ?? '')) throw bad();
  return { createdAt, id };
}

/**
 * `GET …/operations` and `GET …/workspaces/{id}/operations`: what ran on the tenant's keys, newest first, filtered by
 * kind and state, cursor-paged (`next` is null on the last page). A workspace of another tenant is a 404.
 */
export class ListOperations {
  constructor(private readonly deps: KeysDeps) {}

  async execute(tenantId: string, input: OperationHistoryInput) {
    if (input.workspaceId && !(await this.deps.repos.workspaces.findById(tenantId, input.workspaceId)))
      throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    const limit = input.limit ?? 50;
    const rows = await this.deps.repos.operations.history(tenantId, {
      workspaceId: input.workspaceId,
      kinds: input.kinds,
      states: input.states,
      after: input.cursor ? decodeCursor(input.cursor) : undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return { operations: page.map(historyView), next: rows.length > limit ? encodeCursor(page[page.length - 1]) : null };
  }
}
