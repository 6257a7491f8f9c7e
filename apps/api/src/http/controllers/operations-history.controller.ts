import { Controller, Get, Param, Query } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import { ErrorCode, HISTORY_KINDS, OPERATION_STATES, ListOperations } from '@app/keys';
import { z } from 'zod';
import { AdminRoute, Claims } from '../auth';
import { parseBody, pathId } from '../validation';

/** `kind=a,b` or `kind=a&kind=b`: every value must be known. */
const list = <T extends string>(values: readonly T[]) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const items = (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(',')).filter(Boolean);
      for (const i of items)
        if (!(values as readonly string[]).includes(i)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be one of ${values.join(', ')}` });
          return z.NEVER;
        }
      return items as T[];
    });

const query = z
  .object({
    kind: list(HISTORY_KINDS),
    state: list(OPERATION_STATES),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

/** The server-side operations history, tenant-wide and per workspace (key admins and auditors read). */
@Controller('v1/tenants/:tenantId')
export class OperationsHistoryController {
  constructor(
    private readonly listOperationsUseCase: ListOperations,
  ) {}

  @Get('operations')
  @AdminRoute('key_admin', 'auditor')
  list(@Claims() c: AccessClaims, @Query() q: Record<string, unknown>) {
    const p = parseBody(query, { ...q });
    return this.listOperationsUseCase.execute(c.tid, { kinds: p.kind, states: p.state, cursor: p.cursor, limit: p.limit });
  }

  @Get('workspaces/:id/operations')
  @AdminRoute('key_admin', 'auditor')
  listForWorkspace(@Claims() c: AccessClaims, @Param('id') id: string, @Query() q: Record<string, unknown>) {
    const workspaceId = pathId(id, ErrorCode.WorkspaceNotFound);
    const p = parseBody(query, { ...q });
    return this.listOperationsUseCase.execute(c.tid, { workspaceId, kinds: p.kind, states: p.state, cursor: p.cursor, limit: p.limit });
  }
}
