import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import {
  ErrorCode,
  DeleteServicePrincipal,
  GetServicePrincipal,
  RevokeServicePrincipalSecret,
  RotateServicePrincipalSecret,
  UpdateServicePrincipal,
} from '@app/keys';
import { actorOf, AdminRoute, Claims } from '../auth';
import { servicePrincipalSchemas as schemas } from '../service-principal.schemas';
import { parseBody, pathId } from '../validation';

/**
 * Taking a service principal's credentials back: read one, disable/enable, rename, re-scope, restrict its source
 * addresses, delete it, rotate its secret (with an overlap the key admin chooses) and revoke one secret. Key admins
 * change; auditors read. Path tenant = token tenant and ids are looked up by (tenant_id, id): anything else is 404.
 */
@Controller('v1/tenants/:tenantId/service-principals/:id')
export class ServicePrincipalController {
  constructor(
    private readonly getServicePrincipalUseCase: GetServicePrincipal,
    private readonly updateServicePrincipalUseCase: UpdateServicePrincipal,
    private readonly deleteServicePrincipalUseCase: DeleteServicePrincipal,
    private readonly rotateServicePrincipalSecretUseCase: RotateServicePrincipalSecret,
    private readonly revokeServicePrincipalSecretUseCase: RevokeServicePrincipalSecret,
  ) {}

  @Get()
  @AdminRoute('key_admin', 'auditor')
  get(@Claims() c: AccessClaims, @Param('id') id: string) {
    return this.getServicePrincipalUseCase.execute({
      tenantId: c.tid,
      id: pathId(id, ErrorCode.ServicePrincipalNotFound),
    });
  }

  @Patch()
  @AdminRoute('key_admin')
  update(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    return this.updateServicePrincipalUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.ServicePrincipalNotFound),
      change: parseBody(schemas.update, body),
    });
  }

  @Delete()
  @HttpCode(204)
  @AdminRoute('key_admin')
  async remove(@Claims() c: AccessClaims, @Param('id') id: string) {
    await this.deleteServicePrincipalUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.ServicePrincipalNotFound),
    });
  }

  @Post('secrets')
  @HttpCode(201)
  @AdminRoute('key_admin')
  rotate(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    return this.rotateServicePrincipalSecretUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.ServicePrincipalNotFound),
      overlapSeconds: parseBody(schemas.rotate, body).overlapSeconds,
    });
  }

  @Delete('secrets/:secretId')
  @HttpCode(204)
  @AdminRoute('key_admin')
  async revokeSecret(@Claims() c: AccessClaims, @Param('id') id: string, @Param('secretId') secretId: string) {
    await this.revokeServicePrincipalSecretUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      id: pathId(id, ErrorCode.ServicePrincipalNotFound),
      secretId: pathId(secretId, ErrorCode.SecretNotFound),
    });
  }
}
