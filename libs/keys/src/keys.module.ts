import { Injectable, Module, OnModuleDestroy, OnModuleInit, type Provider } from '@nestjs/common';
import { AuditBuffer, AuditLog, AuditModule, DekIssuanceAggregator, KeyUseReport } from '@app/audit';
import {
  AdminSessions,
  AuthModule,
  MAIL_SENDER,
  type MailSender,
  PrincipalInvalidationBus,
  ServicePrincipalGate,
} from '@app/auth';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { KekCache, KekCacheModule, KekInvalidationBus } from '@app/kek-cache';
import { DISPATCHER, REDIS, REPOSITORIES, type Repositories } from '@app/persistence';
import { errorSummary, LOGGER } from '@app/telemetry';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { Dispatcher, KeysDeps } from './context';
import {
  AcceptInvitation,
  ChangePassword,
  CompletePasswordReset,
  CreateInvitation,
  type CredentialsDeps,
  DeleteAdminUser,
  DescribeInvitation,
  ListAdminUsers,
  ListInvitations,
  RequestPasswordReset,
  RevokeInvitation,
  UpdateAdminUser,
} from './credentials.use-cases';
import { DekCreationLimiter } from './dek-creation-limiter';
import { DekService } from './dek-service';
import { KekResolver } from './kek-resolver';
import {
  DeleteKeyConfiguration,
  GetKeyConfiguration,
  RegisterKeyConfiguration,
  ValidateKeyConfiguration,
} from './key-configuration.use-cases';
import {
  GetKeyUseByReason,
  GetPrincipalReasons,
  GetWorkspaceReasonPolicy,
  SetPrincipalReasons,
  SetWorkspaceReasonPolicy,
} from './access-reason-policy.use-cases';
import { REASON_SLOT_NAMES } from './access-reasons';
import { ListAuditEvents } from './audit-events.use-case';
import { GetBulkOperation, StartBulkAction } from './bulk-actions.use-cases';
import { ListCursors } from './list-cursor';
import { ListVendorCanaries } from './listings.use-cases';
import { ListKeyConfigurations, ListServicePrincipals, ListWorkspaces } from './lists.use-cases';
import { ListOperations } from './operations-history.use-case';
import { ProvidersModule } from './providers.module';
import { ProviderRegistry } from './provider-registry';
import { DestroySegment, SetServicePrincipalPermissions } from './segment-shred.use-case';
import {
  DeleteServicePrincipal,
  GetServicePrincipal,
  RevokeServicePrincipalSecret,
  RotateServicePrincipalSecret,
  type ServicePrincipalDeps,
  UpdateServicePrincipal,
} from './service-principal.use-cases';
import { CreateServicePrincipal, CreateTenant, GetTenant } from './tenant.use-cases';
import { DestroyWorkspace } from './workspace-destroy.use-case';
import {
  BindWorkspace,
  CreateWorkspace,
  GetOperation,
  GetWorkspace,
  RequestOperation,
  RequestRevocationCheck,
} from './workspace.use-cases';
import { RequestWrapLimitRotation } from './wrap-limit-rotation.use-case';

/** The dependencies every key use case shares (repositories, providers, audit, dispatcher, KEK invalidation). */
export const KEYS_DEPS = 'keyhold:keys-deps';
/** KEYS_DEPS plus mail, sessions and the one-time links' lifetimes (the credentials use cases). */
export const CREDENTIALS_DEPS = 'keyhold:credentials-deps';
/** KEYS_DEPS plus the principal invalidation (the service principal use cases). */
export const PRINCIPAL_DEPS = 'keyhold:principal-deps';

/** Segment-level crypto-shreds by principal and outcome; the API registers it in its Prometheus registry. */
export class SegmentDestroyMetric {
  readonly counter = new Counter({
    name: 'keyhold_segment_destroys_total',
    help: 'Segment DEKs destroyed, by principal and outcome',
    labelNames: ['principal', 'outcome'],
    registers: [],
  });
}

/** A use case class whose only constructor parameter is one of the shared dependency sets. */
type UseCaseClass<D> = new (deps: D) => object;

/** Providers of use cases built as `new UseCase(deps)` from the dependency set under `token`. */
function useCases<D>(token: string, classes: ReadonlyArray<UseCaseClass<D>>): Provider[] {
  return classes.map((type) => ({ provide: type, inject: [token], useFactory: (deps: D) => new type(deps) }));
}

/** The use cases constructed from KEYS_DEPS alone: a new one is added here and injected by class into its controller. */
const KEYS_USE_CASES: ReadonlyArray<UseCaseClass<KeysDeps>> = [
  GetTenant,
  CreateServicePrincipal,
  RegisterKeyConfiguration,
  ValidateKeyConfiguration,
  GetKeyConfiguration,
  DeleteKeyConfiguration,
  CreateWorkspace,
  GetWorkspace,
  BindWorkspace,
  DestroyWorkspace,
  RequestOperation,
  RequestRevocationCheck,
  RequestWrapLimitRotation,
  GetOperation,
  ListVendorCanaries,
  StartBulkAction,
  GetBulkOperation,
];

/** The paged lists: their cursors are sealed under keys derived from the token keys (ListCursors). */
const LIST_USE_CASES: ReadonlyArray<new (deps: KeysDeps, cursors: ListCursors) => object> = [
  ListWorkspaces,
  ListKeyConfigurations,
  ListServicePrincipals,
  ListOperations,
  ListAuditEvents,
];

const CREDENTIALS_USE_CASES: ReadonlyArray<UseCaseClass<CredentialsDeps>> = [
  CreateInvitation,
  ListInvitations,
  RevokeInvitation,
  DescribeInvitation,
  AcceptInvitation,
  ChangePassword,
  RequestPasswordReset,
  CompletePasswordReset,
  ListAdminUsers,
  UpdateAdminUser,
  DeleteAdminUser,
];

const PRINCIPAL_USE_CASES: ReadonlyArray<UseCaseClass<ServicePrincipalDeps>> = [
  GetServicePrincipal,
  UpdateServicePrincipal,
  DeleteServicePrincipal,
  RotateServicePrincipalSecret,
  RevokeServicePrincipalSecret,
  GetWorkspaceReasonPolicy,
  SetWorkspaceReasonPolicy,
  GetPrincipalReasons,
  SetPrincipalReasons,
];

/**
 * Wires what the DEK path caches to what invalidates it: a KEK dropped, a segment destroyed or a service principal
 * changed makes the DekService forget its rows. The issuance tallies are flushed into the audit buffer at shutdown.
 */
@Injectable()
class KeysLifecycle implements OnModuleInit, OnModuleDestroy {
  private readonly unsubscribers: Array<() => void> = [];

  constructor(
    private readonly deks: DekService,
    private readonly cache: KekCache,
    private readonly bus: KekInvalidationBus,
    private readonly gate: ServicePrincipalGate,
    private readonly issuance: DekIssuanceAggregator,
  ) {}

  onModuleInit(): void {
    this.unsubscribers.push(
      this.cache.onInvalidate((_t, workspaceId) => this.deks.forgetWorkspace(workspaceId)),
      this.bus.onSegmentDestroyed((workspaceId, segmentId) => this.deks.forgetSegment(workspaceId, segmentId)),
      this.gate.onForget((id) => this.deks.forgetPrincipal(id)),
    );
  }

  onModuleDestroy(): void {
    for (const u of this.unsubscribers) u();
    this.issuance.close();
  }
}

/**
 * The keys domain: the use cases (each a provider, injected by class into the controller that calls it), the
 * KEK resolver and the DEK service with its issuance tallies and creation limit.
 */
@Module({
  // The dispatcher (DISPATCHER) comes from the global JobsModule: libs/jobs loads this lib, so this lib names only its port.
  imports: [AuditModule, AuthModule, KekCacheModule, ProvidersModule],
  providers: [
    {
      provide: KEYS_DEPS,
      inject: [REPOSITORIES, ProviderRegistry, AuditLog, DISPATCHER, KekInvalidationBus],
      useFactory: (
        repos: Repositories,
        registry: ProviderRegistry,
        audit: AuditLog,
        dispatcher: Dispatcher,
        kekInvalidator: KekInvalidationBus,
      ): KeysDeps => ({
        repos,
        registry,
        audit,
        dispatcher,
        kekInvalidator,
      }),
    },
    {
      provide: CREDENTIALS_DEPS,
      inject: [KEYS_DEPS, MAIL_SENDER, AdminSessions, KEYHOLD_CONFIG, LOGGER],
      useFactory: (
        deps: KeysDeps,
        mail: MailSender,
        sessions: AdminSessions,
        config: KeyholdConfig,
        log: Logger,
      ): CredentialsDeps => ({
        ...deps,
        mail,
        sessions,
        invitationTtlSeconds: config.credentials.invitationTtlSeconds,
        passwordResetTtlSeconds: config.credentials.passwordResetTtlSeconds,
        consoleUrl: config.publicUrl,
        onBackgroundError: (err) => log.warn({ err: errorSummary(err) }, 'password reset request failed'),
      }),
    },
    {
      provide: PRINCIPAL_DEPS,
      inject: [KEYS_DEPS, PrincipalInvalidationBus, LOGGER],
      useFactory: (deps: KeysDeps, bus: PrincipalInvalidationBus, log: Logger): ServicePrincipalDeps => ({
        ...deps,
        principalInvalidator: {
          servicePrincipalChanged: (tenantId, id) =>
            // Redis down: the change is committed and every replica's poll converges within PRINCIPAL_POLL_MS.
            bus
              .servicePrincipalChanged(tenantId, id)
              .catch((err: unknown) =>
                log.warn(
                  { err: errorSummary(err), tenantId, servicePrincipalId: id },
                  'principal invalidation not published',
                ),
              ),
        },
      }),
    },
    ...useCases(KEYS_DEPS, KEYS_USE_CASES),
    ...useCases(CREDENTIALS_DEPS, CREDENTIALS_USE_CASES),
    ...useCases(PRINCIPAL_DEPS, PRINCIPAL_USE_CASES),
    {
      provide: ListCursors,
      inject: [KEYHOLD_CONFIG],
      useFactory: (config: KeyholdConfig) => new ListCursors(config.tokenKeys.map((k) => k.secret)),
    },
    ...LIST_USE_CASES.map((type) => ({
      provide: type,
      inject: [KEYS_DEPS, ListCursors],
      useFactory: (deps: KeysDeps, cursors: ListCursors) => new type(deps, cursors),
    })),
    {
      provide: GetKeyUseByReason,
      inject: [PRINCIPAL_DEPS, DataSource],
      useFactory: (deps: ServicePrincipalDeps, ds: DataSource) => new GetKeyUseByReason(deps, new KeyUseReport(ds)),
    },
    {
      provide: CreateTenant,
      inject: [KEYS_DEPS, CreateInvitation],
      useFactory: (deps: KeysDeps, invite: CreateInvitation) => new CreateTenant(deps, invite),
    },
    {
      provide: SetServicePrincipalPermissions,
      inject: [REPOSITORIES, AuditLog],
      useFactory: (repos: Repositories, audit: AuditLog) => new SetServicePrincipalPermissions(repos, audit),
    },
    { provide: SegmentDestroyMetric, useFactory: () => new SegmentDestroyMetric() },
    {
      provide: DestroySegment,
      inject: [REPOSITORIES, AuditLog, KekInvalidationBus, SegmentDestroyMetric, LOGGER],
      useFactory: (
        repos: Repositories,
        audit: AuditLog,
        bus: KekInvalidationBus,
        metric: SegmentDestroyMetric,
        log: Logger,
      ) =>
        new DestroySegment(
          repos,
          audit,
          bus,
          (actor, outcome) => metric.counter.inc({ principal: actor, outcome }),
          (err) =>
            log.warn(
              { err: errorSummary(err) },
              'segment destroy invalidation not published; the fallback poll covers it',
            ),
        ),
    },
    {
      provide: DekIssuanceAggregator,
      inject: [AuditBuffer],
      useFactory: (buffer: AuditBuffer) => new DekIssuanceAggregator(buffer, 10_000, REASON_SLOT_NAMES),
    },
    {
      provide: KekResolver,
      inject: [REPOSITORIES, ProviderRegistry, KekCache, RequestRevocationCheck, KEYHOLD_CONFIG, LOGGER],
      useFactory: (
        repos: Repositories,
        registry: ProviderRegistry,
        cache: KekCache,
        revocationCheck: RequestRevocationCheck,
        config: KeyholdConfig,
        log: Logger,
      ) =>
        new KekResolver(
          repos,
          registry,
          cache,
          {
            onRevocationSuspected: async (tenantId, workspaceId, errorClass) => {
              const id = await revocationCheck.execute({ tenantId, workspaceId });
              log.warn(
                { tenantId, workspaceId, errorClass, operationId: id },
                'customer key refused unwrap; revocation check requested',
              );
            },
          },
          config.dek.retryAfterSeconds,
          (err) => log.warn({ err: errorSummary(err) }, 'KEK resolver side effect failed'),
        ),
    },
    {
      provide: DekService,
      inject: [
        REPOSITORIES,
        KekResolver,
        DekIssuanceAggregator,
        KekInvalidationBus,
        RequestWrapLimitRotation,
        REDIS,
        KEYHOLD_CONFIG,
        LOGGER,
      ],
      useFactory: (
        repos: Repositories,
        resolver: KekResolver,
        issuance: DekIssuanceAggregator,
        bus: KekInvalidationBus,
        rotation: RequestWrapLimitRotation,
        redis: Redis,
        config: KeyholdConfig,
        log: Logger,
      ) => {
        const limiter = new DekCreationLimiter(redis, config.redisPrefix, config.dek.createRatePerMinute);
        return new DekService(
          repos,
          resolver,
          {
            stateCacheTtlMs: config.dek.stateCacheTtlMs,
            wrappedCacheEntries: config.dek.wrappedCacheEntries,
            wrapReserveChunk: config.kekRotation.wrapReserveChunk,
            batchMax: config.dek.batchMax,
            quotaPerWorkspace: config.dek.quotaPerWorkspace,
            softWrapLimit: config.kekRotation.maxWraps,
            hardWrapCap: config.kekRotation.wrapHardCap,
            retryAfterSeconds: config.dek.retryAfterSeconds,
          },
          issuance,
          (id, generation) => bus.observe(id, generation),
          // DEK creation's rate limit and its immediate wrap-limit rotations (the warm fetch path never calls these).
          {
            chargeCreations: (principalId, n) => limiter.charge(principalId, n),
            rotationNeeded: async (tenantId, workspaceId, why) => {
              const operationId = await rotation.execute({ tenantId, workspaceId });
              log.warn({ tenantId, workspaceId, reason: why, operationId }, 'KEK wrap limit: rotation requested');
            },
          },
        );
      },
    },
    KeysLifecycle,
  ],
  exports: [
    ...KEYS_USE_CASES,
    ...CREDENTIALS_USE_CASES,
    ...PRINCIPAL_USE_CASES,
    ...LIST_USE_CASES,
    GetKeyUseByReason,
    CreateTenant,
    SetServicePrincipalPermissions,
    DestroySegment,
    SegmentDestroyMetric,
    DekIssuanceAggregator,
    KekResolver,
    DekService,
  ],
})
export class KeysModule {}
