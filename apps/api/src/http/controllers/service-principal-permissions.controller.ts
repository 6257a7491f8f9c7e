import { Body, Controller, Param, Put } from '@nestjs/common';
import { SetServicePrincipalPermissions } from '@app/keys';
import type { AccessClaims } from '@app/auth';
import { actorOf, AdminRoute, Claims } from '../auth';
import { parseBody, pathId, schemas } from '../validation';

/** The key admin sets what a service principal may do (`dek:fetch` always; `dek:destroy` on request). */
@Controller('v1/tenants/:tenantId/service-principals/:id/permissions')
export class ServicePrincipalPermissionsController {
  constructor(private readonly setServicePrincipalPermissionsUseCase: SetServicePrincipalPermissions) {}

  @Put()
  @AdminRoute('key_admin')
  set(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    const { permissions } = parseBody(schemas.servicePrincipalPermissions, body);
    return this.setServicePrincipalPermissionsUseCase.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      servicePrincipalId: pathId(id),
      permissions,
    });
  }
}
