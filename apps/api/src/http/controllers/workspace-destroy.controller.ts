import { Body, Controller, Delete, HttpCode, Param } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import { ErrorCode, DestroyWorkspace } from '@app/keys';
import { actorOf, AdminRoute, Claims } from '../auth';
import { pathId } from '../validation';

/** DELETE workspace: key admins only (auditors, service principals and the operator are refused by the guard). */
@Controller('v1/tenants/:tenantId')
export class WorkspaceDestroyController {
  constructor(private readonly destroyWorkspaceUseCase: DestroyWorkspace) {}

  @Delete('workspaces/:id')
  @HttpCode(200)
  @AdminRoute('key_admin')
  destroy(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    // A missing or non-object body is a missing confirmation: the use case answers CONFIRMATION_MISMATCH.
    const confirm = body !== null && typeof body === 'object' ? (body as { confirm?: unknown }).confirm : undefined;
    return this.destroyWorkspaceUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      workspaceId: pathId(id, ErrorCode.WorkspaceNotFound),
      input: { confirm },
    });
  }
}
