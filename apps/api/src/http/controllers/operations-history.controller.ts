import { Controller, Get, Param, Query } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import { ErrorCode, HISTORY_KINDS, OPERATION_STATES, ListOperations } from '@app/keys';
import { z } from 'zod';
import { AdminRoute, Claims } from '../auth';
import { listOf, MAX_PAGE } from '../list-query';
import { parseBody, pathId } from '../validation';

export const query = z
  .object({
    kind: listOf(HISTORY_KINDS),
    state: listOf(OPERATION_STATES),
    cursor: z.string().min(1).max(1024).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
  })
  .strict();

/** The server-side operations history, tenant-wide and per workspace (key admins and auditors read). */
@Controller('v1/tenants/:tenantId')
export class OperationsHistoryController {
  constructor(private readonly listOperationsUseCase: ListOperations) {}

  @Get('operations')
  @AdminRoute('key_admin', 'auditor')
  list(@Claims() c: AccessClaims, @Query() q: Record<string, unknown>) {
    const p = parseBody(query, { ...q });
    return this.listOperationsUseCase.execute({
      tenantId: c.tid,
      input: { kinds: p.kind, states: p.state, cursor: p.cursor, limit: p.limit },
    });
  }

  @Get('workspaces/:id/operations')
  @AdminRoute('key_admin', 'auditor')
  listForWorkspace(@Claims() c: AccessClaims, @Param('id') id: string, @Query() q: Record<string, unknown>) {
    const workspaceId = pathId(id, ErrorCode.WorkspaceNotFound);
    const p = parseBody(query, { ...q });
    return this.listOperationsUseCase.execute({
      tenantId: c.tid,
      input: { workspaceId, kinds: p.kind, states: p.state, cursor: p.cursor, limit: p.limit },
    });
  }
}
