import { DynamicModule, Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AuditModule } from '@app/audit';
import { AuthModule } from '@app/auth';
import { ConfigModule, type KeyholdConfig } from '@app/config';
import { JobsModule } from '@app/jobs';
import { KekCacheModule } from '@app/kek-cache';
import { KeysModule, ProvidersModule } from '@app/keys';
import { PersistenceModule } from '@app/persistence';
import { SiemModule } from '@app/siem';
import { LoggerModule, type LoggerModuleOptions } from '@app/telemetry';
import { AdminTokenStrategy, AppAuthContext, OperatorTokenStrategy, TenantAccessGuard } from './http/auth';
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
import { ApiMetrics } from './http/metrics';

/** The feature modules the API serves (the worker root imports the shared ones: audit, providers). */
export const API_FEATURE_MODULES = [
  AuditModule,
  ProvidersModule,
  KekCacheModule,
  AuthModule,
  JobsModule,
  KeysModule,
  SiemModule,
] as const;

export const API_CONTROLLERS = [
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
];

/**
 * The API's root module: the process-wide modules (configuration, logger, stores) with the API's settings, the
 * feature modules, the admin API's controllers, and the API's own metrics and passport strategies.
 */
@Module({})
export class ApiModule {
  static forRoot(config: KeyholdConfig, logger: Omit<LoggerModuleOptions, 'name' | 'level'> = {}): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({ name: 'keyhold-api', level: config.logLevel, ...logger }),
        PersistenceModule.forRoot({ applicationName: 'keyhold-api', redis: 'api' }),
        ...API_FEATURE_MODULES,
        PassportModule.register({ session: false }),
      ],
      controllers: API_CONTROLLERS,
      providers: [ApiMetrics, AppAuthContext, AdminTokenStrategy, OperatorTokenStrategy, TenantAccessGuard],
    };
  }
}
