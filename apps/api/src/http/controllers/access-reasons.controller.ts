import { Body, Controller, Get, Param, Put, Query } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import {
  ErrorCode,
  GetKeyUseByReason,
  GetPrincipalReasons,
  GetWorkspaceReasonPolicy,
  SetPrincipalReasons,
  SetWorkspaceReasonPolicy,
} from '@app/keys';
import { actorOf, AdminRoute, Claims } from '../auth';
import { accessReasonSchemas as schemas } from '../access-reasons.schemas';
import { parseBody, pathId } from '../validation';

/**
 * Key access justifications: a workspace's reason policy, a service principal's allowed reasons (key admins set,
 * auditors read), and key use by reason over time.
 */
@Controller('v1/tenants/:tenantId')
export class AccessReasonsController {
  constructor(
    private readonly getWorkspacePolicyUseCase: GetWorkspaceReasonPolicy,
    private readonly setWorkspacePolicyUseCase: SetWorkspaceReasonPolicy,
    private readonly getPrincipalReasonsUseCase: GetPrincipalReasons,
    private readonly setPrincipalReasonsUseCase: SetPrincipalReasons,
    private readonly keyUseUseCase: GetKeyUseByReason,
  ) {}

  @Get('workspaces/:id/access-reason-policy')
  @AdminRoute('key_admin', 'auditor')
  getPolicy(@Claims() c: AccessClaims, @Param('id') id: string) {
    return this.getWorkspacePolicyUseCase.execute({
      tenantId: c.tid,
      workspaceId: pathId(id, ErrorCode.WorkspaceNotFound),
    });
  }

  @Put('workspaces/:id/access-reason-policy')
  @AdminRoute('key_admin')
  setPolicy(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    const p = parseBody(schemas.workspacePolicy, body);
    return this.setWorkspacePolicyUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      workspaceId: pathId(id, ErrorCode.WorkspaceNotFound),
      input: p,
    });
  }

  @Get('service-principals/:id/access-reasons')
  @AdminRoute('key_admin', 'auditor')
  getPrincipal(@Claims() c: AccessClaims, @Param('id') id: string) {
    return this.getPrincipalReasonsUseCase.execute({
      tenantId: c.tid,
      principalId: pathId(id, ErrorCode.ServicePrincipalNotFound),
    });
  }

  @Put('service-principals/:id/access-reasons')
  @AdminRoute('key_admin')
  setPrincipal(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    const p = parseBody(schemas.principalReasons, body);
    return this.setPrincipalReasonsUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      principalId: pathId(id, ErrorCode.ServicePrincipalNotFound),
      allowed: p.allowedReasons,
    });
  }

  @Get('key-use')
  @AdminRoute('key_admin', 'auditor')
  keyUse(@Claims() c: AccessClaims, @Query() q: Record<string, unknown>) {
    const p = parseBody(schemas.keyUseQuery, { ...q });
    return this.keyUseUseCase.execute({
      tenantId: c.tid,
      query: {
        workspaceId: p.workspaceId?.toLowerCase(),
        from: p.from ? new Date(p.from) : undefined,
        to: p.to ? new Date(p.to) : undefined,
        bucket: p.bucket,
      },
    });
  }
}
