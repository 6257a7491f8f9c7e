import type { AuditFilter } from '@app/audit';
import type { KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';
import { ListCursors, pageOf } from './list-cursor';

export interface AuditEventsInput extends AuditFilter {
  readonly order: 'asc' | 'desc';
  /** Opaque: the `next` of the previous page. */
  readonly cursor?: string;
  readonly limit: number;
}

/**
 * `GET …/audit-events`: the tenant's log filtered by action (exact or prefix), actor, workspace and time, oldest or
 * newest first, keyset-paged by sequence number behind the same sealed cursors as the other lists (bound to the
 * tenant, order and filters). Events of deleted workspaces stay listed: the filter does not look the workspace up.
 */
export interface ListAuditEventsCommand {
  readonly tenantId: string;
  readonly query: AuditEventsInput;
}

export class ListAuditEvents {
  constructor(
    private readonly deps: KeysDeps,
    private readonly cursors: ListCursors,
  ) {}

  async execute({ tenantId, query }: ListAuditEventsCommand) {
    const { order, cursor, limit, ...raw } = query;
    const filter: AuditFilter = {
      actions: raw.actions?.length ? [...new Set(raw.actions)].sort() : undefined,
      actionPrefixes: raw.actionPrefixes?.length ? [...new Set(raw.actionPrefixes)].sort() : undefined,
      actor: raw.actor,
      workspaceId: raw.workspaceId,
      from: raw.from,
      to: raw.to,
      afterSeq: raw.afterSeq,
    };
    if (filter.from && filter.to && filter.from >= filter.to)
      throw new DomainError(ErrorCode.ValidationFailed, 'from: must be earlier than to');
    const scope = {
      tenantId,
      list: 'audit-events',
      sort: `seq:${order}`,
      filters: { ...filter, from: filter.from?.toISOString(), to: filter.to?.toISOString() },
    };
    const last = cursor ? Number(this.cursors.decode(scope, cursor).value) : undefined;
    const page = await this.deps.audit.list(tenantId, { filter, order, last, limit });
    return pageOf(
      'events',
      page.events,
      page.last === null ? null : this.cursors.encode(scope, { value: String(page.last), id: '' }),
    );
  }
}
