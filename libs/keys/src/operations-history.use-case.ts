import type { OperationHistoryRow, OperationKindName, OperationState } from '@app/persistence';
import type { KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';
import { ListCursors, pageOf } from './list-cursor';
import { operationView } from './views';

export const OPERATION_STATES: readonly OperationState[] = ['queued', 'running', 'succeeded', 'failed'];
export const HISTORY_KINDS: readonly OperationKindName[] = [
  'cmk-rewrap',
  'rekey',
  'kek-rotation',
  'revocation-check',
  'reinstate',
];

export interface OperationHistoryInput {
  workspaceId?: string;
  kinds?: OperationKindName[];
  states?: OperationState[];
  /** Opaque: the `next` of the previous page. */
  cursor?: string;
  limit?: number;
}

/** The history view of one operation: the single-operation view plus who asked and when it started. */
export interface ListOperationsCommand {
  readonly tenantId: string;
  readonly input: OperationHistoryInput;
}

export function historyView(o: OperationHistoryRow) {
  return { ...operationView(o), requestedBy: o.requestedBy, startedAt: o.startedAt };
}

/**
 * `GET …/operations` and `GET …/workspaces/{id}/operations`: what ran on the tenant's keys, newest first, filtered by
 * kind and state, cursor-paged (`next` is null on the last page). A workspace of another tenant is a 404.
 */
export class ListOperations {
  constructor(
    private readonly deps: KeysDeps,
    private readonly cursors: ListCursors,
  ) {}

  async execute({ tenantId, input }: ListOperationsCommand) {
    if (input.workspaceId && !(await this.deps.repos.workspaces.findById(tenantId, input.workspaceId)))
      throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    const limit = input.limit ?? 50;
    const filters = {
      kinds: input.kinds?.length ? [...new Set(input.kinds)].sort() : undefined,
      states: input.states?.length ? [...new Set(input.states)].sort() : undefined,
    };
    const scope = {
      tenantId,
      list: input.workspaceId ? `operations:${input.workspaceId}` : 'operations',
      sort: 'createdAt:desc',
      filters,
    };
    const page = await this.deps.repos.operations.history(tenantId, {
      workspaceId: input.workspaceId,
      ...filters,
      after: input.cursor ? this.cursors.decode(scope, input.cursor) : undefined,
      limit,
    });
    return pageOf('operations', page.items.map(historyView), page.last && this.cursors.encode(scope, page.last));
  }
}
