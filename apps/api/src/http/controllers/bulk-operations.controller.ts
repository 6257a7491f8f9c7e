import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import { BULK_MAX_WORKSPACES, DomainError, ErrorCode, GetBulkOperation, StartBulkAction } from '@app/keys';
import { z } from 'zod';
import { actorOf, AdminRoute, Claims } from '../auth';
import { parseBody, pathId } from '../validation';

const uuid = z
  .string()
  .uuid()
  .transform((v) => v.toLowerCase());

/**
 * The bulk action body. The selection is bounded twice: by the schema for a listed selection (a clear 400 before any
 * work), and by the use case for "every workspace of a configuration" (BULK_SELECTION_TOO_LARGE).
 */
export const bulkBody = z.discriminatedUnion('action', [
  z
    .object({ action: z.enum(['bind', 'rekey']), keyConfigurationId: uuid, workspaceIds: z.array(uuid).min(1) })
    .strict(),
  z.object({ action: z.literal('rewrap'), keyConfigurationId: uuid }).strict(),
]);

/** Bulk actions over many workspaces as one tracked operation (key admins start, auditors read). */
@Controller('v1/tenants/:tenantId/bulk-operations')
export class BulkOperationsController {
  constructor(
    private readonly startBulkActionUseCase: StartBulkAction,
    private readonly getBulkOperationUseCase: GetBulkOperation,
  ) {}

  @Post()
  @HttpCode(202)
  @AdminRoute('key_admin')
  start(@Claims() c: AccessClaims, @Body() body: unknown) {
    const raw = body as { workspaceIds?: unknown } | null;
    if (raw && Array.isArray(raw.workspaceIds) && raw.workspaceIds.length > BULK_MAX_WORKSPACES)
      throw new DomainError(
        ErrorCode.BulkSelectionTooLarge,
        `a bulk operation carries at most ${BULK_MAX_WORKSPACES} workspaces; ${raw.workspaceIds.length} were selected`,
      );
    return this.startBulkActionUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      request: parseBody(bulkBody, body),
    });
  }

  @Get(':id')
  @AdminRoute('key_admin', 'auditor')
  get(@Claims() c: AccessClaims, @Param('id') id: string) {
    return this.getBulkOperationUseCase.execute({
      tenantId: c.tid,
      bulkId: pathId(id, ErrorCode.BulkOperationNotFound),
    });
  }
}
