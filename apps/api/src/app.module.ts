import { DynamicModule, Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AdminTokenStrategy, OperatorTokenStrategy, SERVICES, TenantAccessGuard } from './http/auth';
import { HealthController, OperatorController } from './http/controllers/operator.controller';
import { TenantController } from './http/controllers/tenant.controller';
import { ServicePrincipalController } from './http/controllers/service-principal.controller';
import { SegmentAdminController } from './http/controllers/segment.controller';
import { ServicePrincipalPermissionsController } from './http/controllers/service-principal-permissions.controller';
import { AuditController } from './http/controllers/audit.controller';
import { AdminUsersController, OneTimeLinksController } from './http/controllers/credentials.controller';
import { PlatformController } from './http/controllers/platform.controller';
import { WorkspaceDestroyController } from './http/controllers/workspace-destroy.controller';
import { SsoConfigurationController, SsoSignInController } from './http/controllers/sso.controller';
import { MfaController, MfaSignInController } from './http/controllers/mfa.controller';
import { SiemController } from './http/controllers/siem.controller';
import { OperationsHistoryController } from './http/controllers/operations-history.controller';
import { AccessReasonsController } from './http/controllers/access-reasons.controller';
import { BulkOperationsController } from './http/controllers/bulk-operations.controller';
import type { KeyholdServices } from './services';

/** The Nest module of the admin API; the composition root is built outside Nest and provided as a value. */
@Module({})
export class ApiModule {
  static with(services: KeyholdServices): DynamicModule {
    return {
      module: ApiModule,
      imports: [PassportModule.register({ session: false })],
      controllers: [
        OperatorController,
        HealthController,
        TenantController,
        ServicePrincipalController,
        SegmentAdminController,
        ServicePrincipalPermissionsController,
        AuditController,
        AdminUsersController,
        OneTimeLinksController,
        PlatformController,
        WorkspaceDestroyController,
        SsoConfigurationController,
        SsoSignInController,
        MfaSignInController,
        MfaController,
        SiemController,
        OperationsHistoryController,
        AccessReasonsController,
        BulkOperationsController,
      ],
      providers: [{ provide: SERVICES, useValue: services }, AdminTokenStrategy, OperatorTokenStrategy, TenantAccessGuard],
    };
  }
}
