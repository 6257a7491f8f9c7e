import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { AuditBuffer, AuditLog } from '@app/audit';
import type { AccessClaims } from '@app/auth';
import {
  ErrorCode,
  BindWorkspace,
  CreateServicePrincipal,
  CreateWorkspace,
  DeleteKeyConfiguration,
  GetKeyConfiguration,
  GetOperation,
  GetTenant,
  GetWorkspace,
  ListAuditEvents,
  ListKeyConfigurations,
  ListServicePrincipals,
  ListWorkspaces,
  RegisterKeyConfiguration,
  RequestOperation,
  ValidateKeyConfiguration,
} from '@app/keys';
import type { FastifyReply } from 'fastify';
import { actorOf, AdminRoute, Claims } from '../auth';
import { listQueries } from '../list-queries';
import { parseBody, pathId, schemas } from '../validation';

/**
 * The tenant admin API (docs/API.md). Every route: admin token, role check, path tenant = token tenant (404
 * otherwise), ids looked up by (tenant_id, id). Controllers only parse and call one use case.
 */
@Controller('v1/tenants/:tenantId')
export class TenantController {
  constructor(
    private readonly getTenantUseCase: GetTenant,
    private readonly registerKeyConfigurationUseCase: RegisterKeyConfiguration,
    private readonly listKeyConfigurationsUseCase: ListKeyConfigurations,
    private readonly getKeyConfigurationUseCase: GetKeyConfiguration,
    private readonly validateKeyConfigurationUseCase: ValidateKeyConfiguration,
    private readonly deleteKeyConfigurationUseCase: DeleteKeyConfiguration,
    private readonly createWorkspaceUseCase: CreateWorkspace,
    private readonly listWorkspacesUseCase: ListWorkspaces,
    private readonly getWorkspaceUseCase: GetWorkspace,
    private readonly bindWorkspaceUseCase: BindWorkspace,
    private readonly requestOperationUseCase: RequestOperation,
    private readonly getOperationUseCase: GetOperation,
    private readonly createServicePrincipalUseCase: CreateServicePrincipal,
    private readonly listServicePrincipalsUseCase: ListServicePrincipals,
    private readonly listAuditEventsUseCase: ListAuditEvents,
    private readonly auditBuffer: AuditBuffer,
    private readonly audit: AuditLog,
  ) {}

  @Get()
  @AdminRoute('key_admin', 'auditor')
  getTenant(@Claims() c: AccessClaims) {
    return this.getTenantUseCase.execute({ tenantId: c.tid });
  }

  // ---- key configurations
  @Post('key-configurations')
  @HttpCode(201)
  @AdminRoute('key_admin')
  registerKeyConfiguration(@Claims() c: AccessClaims, @Body() body: unknown) {
    return this.registerKeyConfigurationUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      input: parseBody(schemas.registerKeyConfiguration, body),
    });
  }

  @Get('key-configurations')
  @AdminRoute('key_admin', 'auditor')
  listKeyConfigurations(@Claims() c: AccessClaims, @Query() query: Record<string, unknown>) {
    const { q, provider, status, ...page } = parseBody(listQueries.keyConfigurations, { ...query });
    return this.listKeyConfigurationsUseCase.execute({
      tenantId: c.tid,
      filters: { search: q, providers: provider, statuses: status },
      page,
    });
  }

  @Get('key-configurations/:id')
  @AdminRoute('key_admin', 'auditor')
  getKeyConfiguration(@Claims() c: AccessClaims, @Param('id') id: string) {
    return this.getKeyConfigurationUseCase.execute({
      tenantId: c.tid,
      id: pathId(id, ErrorCode.KeyConfigurationNotFound),
    });
  }

  @Post('key-configurations/:id/validate')
  @HttpCode(200)
  @AdminRoute('key_admin')
  validateKeyConfiguration(@Claims() c: AccessClaims, @Param('id') id: string) {
    return this.validateKeyConfigurationUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.KeyConfigurationNotFound),
    });
  }

  @Delete('key-configurations/:id')
  @HttpCode(204)
  @AdminRoute('key_admin')
  async deleteKeyConfiguration(@Claims() c: AccessClaims, @Param('id') id: string) {
    await this.deleteKeyConfigurationUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.KeyConfigurationNotFound),
    });
  }

  // ---- workspaces
  @Post('workspaces')
  @HttpCode(201)
  @AdminRoute('key_admin')
  createWorkspace(@Claims() c: AccessClaims, @Body() body: unknown) {
    return this.createWorkspaceUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      input: parseBody(schemas.createWorkspace, body),
    });
  }

  @Get('workspaces')
  @AdminRoute('key_admin', 'auditor')
  listWorkspaces(@Claims() c: AccessClaims, @Query() query: Record<string, unknown>) {
    const { q, keyState, keyConfigurationId, degraded, id, ...page } = parseBody(listQueries.workspaces, { ...query });
    return this.listWorkspacesUseCase.execute({
      tenantId: c.tid,
      filters: {
        search: q,
        keyStates: keyState,
        keyConfigurationId: keyConfigurationId?.toLowerCase(),
        degraded,
        ids: id,
      },
      page,
    });
  }

  @Get('workspaces/:id')
  @AdminRoute('key_admin', 'auditor')
  getWorkspace(@Claims() c: AccessClaims, @Param('id') id: string) {
    return this.getWorkspaceUseCase.execute({ tenantId: c.tid, id: pathId(id, ErrorCode.WorkspaceNotFound) });
  }

  @Put('workspaces/:id/key-binding')
  @AdminRoute('key_admin')
  async bind(
    @Claims() c: AccessClaims,
    @Param('id') id: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { keyConfigurationId } = parseBody(schemas.bind, body);
    const r = await this.bindWorkspaceUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      workspaceId: pathId(id, ErrorCode.WorkspaceNotFound),
      keyConfigurationId: keyConfigurationId.toLowerCase(),
    });
    if (r.kind === 'rekey') {
      reply.status(202);
      return { operationId: r.operationId };
    }
    reply.status(200);
    return r.workspace;
  }

  @Post('workspaces/:id/operations')
  @HttpCode(202)
  @AdminRoute('key_admin')
  requestOperation(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    const { kind } = parseBody(schemas.operation, body);
    return this.requestOperationUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      workspaceId: pathId(id, ErrorCode.WorkspaceNotFound),
      kind,
    });
  }

  @Get('operations/:operationId')
  @AdminRoute('key_admin', 'auditor')
  getOperation(@Claims() c: AccessClaims, @Param('operationId') id: string) {
    return this.getOperationUseCase.execute({ tenantId: c.tid, operationId: pathId(id, ErrorCode.OperationNotFound) });
  }

  // ---- service principals
  @Post('service-principals')
  @HttpCode(201)
  @AdminRoute('key_admin')
  createServicePrincipal(@Claims() c: AccessClaims, @Body() body: unknown) {
    const input = parseBody(schemas.servicePrincipal, body);
    return this.createServicePrincipalUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      input: {
        name: input.name,
        workspaceIds: input.workspaceIds.map((w) => w.toLowerCase()),
        permissions: input.permissions,
      },
    });
  }

  @Get('service-principals')
  @AdminRoute('key_admin', 'auditor')
  listServicePrincipals(@Claims() c: AccessClaims, @Query() query: Record<string, unknown>) {
    const { q, disabled, ...page } = parseBody(listQueries.servicePrincipals, { ...query });
    return this.listServicePrincipalsUseCase.execute({ tenantId: c.tid, filters: { search: q, disabled }, page });
  }

  // ---- audit
  @Get('audit-events')
  @AdminRoute('key_admin', 'auditor')
  async auditEvents(@Claims() c: AccessClaims, @Query() query: Record<string, unknown>) {
    const { action, after, ...q } = parseBody(listQueries.auditEvents, { ...query });
    await this.auditBuffer.flush();
    return this.listAuditEventsUseCase.execute({ tenantId: c.tid, query: { ...q, ...action, afterSeq: after } });
  }

  @Get('audit-events/verification')
  @AdminRoute('key_admin', 'auditor')
  async verifyAudit(@Claims() c: AccessClaims) {
    await this.auditBuffer.flush();
    return this.audit.verify(c.tid);
  }

  @Get('audit-events/export')
  @AdminRoute('key_admin', 'auditor')
  async exportAudit(@Claims() c: AccessClaims, @Res() reply: FastifyReply) {
    await this.auditBuffer.flush();
    const lines: string[] = [];
    for await (const line of this.audit.exportJsonLines(c.tid)) lines.push(line);
    reply
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(lines.join(''));
  }
}
