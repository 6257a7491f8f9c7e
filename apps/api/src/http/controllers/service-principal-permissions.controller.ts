import { Body, Controller, Inject, Param, Put } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import { actorOf, AdminRoute, Claims, SERVICES } from '../auth';
import type { KeyholdServices } from '../../services';
import { parseBody, pathId, schemas } from '../validation';

/** The key admin sets what a service principal may do (`dek:fetch` always; `dek:destroy` on request). */
@Controller('v1/tenants/:tenantId/service-principals/:id/permissions')
export class ServicePrincipalPermissionsController {
  constructor(@Inject(SERVICES) private readonly s: KeyholdServices) {}

  @Put()
  @AdminRoute('key_admin')
  set(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    const { permissions } = parseBody(schemas.servicePrincipalPermissions, body);
    return this.s.segments.setPermissions.execute(actorOf(c), c.tid, pathId(id), permissions);
  }
}
