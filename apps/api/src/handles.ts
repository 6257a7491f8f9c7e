import type { Abstract, INestApplicationContext, Type } from '@nestjs/common';
import { AuditBuffer, AuditLog, AuditSealer, DekIssuanceAggregator } from '@app/audit';
import {
  ADMIN_TOKENS,
  AdminSessions,
  DEV_MAILBOX,
  type DevMailbox,
  MfaService,
  PrincipalInvalidationBus,
  SERVICE_TOKENS,
  ServicePrincipalGate,
  TokenService,
  TokenSigner,
  type VerifiedTokenCache,
} from '@app/auth';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { OperationDispatcher } from '@app/jobs';
import { KekCache, KekInvalidationBus } from '@app/kek-cache';
import { DekService, DestroySegment, KekResolver, ProviderRegistry } from '@app/keys';
import { REDIS, REPOSITORIES, type Repositories } from '@app/persistence';
import { LOGGER } from '@app/telemetry';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { ApiMetrics } from './http/metrics';

/**
 * Handles on singletons of the API's container, resolved once when the app starts: what the raw-Fastify internal
 * listener needs (the DEK hot path stays outside Nest's request pipeline), and what tests and benchmarks inspect.
 * Controllers never see this object: they receive their use cases by constructor injection.
 */
export interface ApiHandles {
  readonly config: KeyholdConfig;
  readonly log: Logger;
  readonly ds: DataSource;
  readonly repos: Repositories;
  readonly redis: Redis;
  readonly registry: ProviderRegistry;
  readonly audit: AuditLog;
  readonly auditBuffer: AuditBuffer;
  readonly sealer: AuditSealer;
  readonly issuance: DekIssuanceAggregator;
  readonly kekCache: KekCache;
  readonly kekBus: KekInvalidationBus;
  readonly kekResolver: KekResolver;
  readonly deks: DekService;
  readonly dispatcher: OperationDispatcher;
  readonly signer: TokenSigner;
  readonly adminTokens: VerifiedTokenCache;
  readonly serviceTokens: VerifiedTokenCache;
  readonly tokens: TokenService;
  readonly adminSessions: AdminSessions;
  readonly mfa: MfaService;
  readonly devMailbox: DevMailbox | null;
  readonly metrics: ApiMetrics;
  readonly principalGate: ServicePrincipalGate;
  readonly principalBus: PrincipalInvalidationBus;
  readonly destroySegment: DestroySegment;
}

export function apiHandles(app: INestApplicationContext): ApiHandles {
  const get = <T>(token: string | Type<T> | Abstract<T>): T => app.get<T>(token, { strict: false });
  return {
    config: get<KeyholdConfig>(KEYHOLD_CONFIG),
    log: get<Logger>(LOGGER),
    ds: get(DataSource),
    repos: get<Repositories>(REPOSITORIES),
    redis: get<Redis>(REDIS),
    registry: get(ProviderRegistry),
    audit: get(AuditLog),
    auditBuffer: get(AuditBuffer),
    sealer: get(AuditSealer),
    issuance: get(DekIssuanceAggregator),
    kekCache: get(KekCache),
    kekBus: get(KekInvalidationBus),
    kekResolver: get(KekResolver),
    deks: get(DekService),
    dispatcher: get(OperationDispatcher),
    signer: get(TokenSigner),
    adminTokens: get<VerifiedTokenCache>(ADMIN_TOKENS),
    serviceTokens: get<VerifiedTokenCache>(SERVICE_TOKENS),
    tokens: get(TokenService),
    adminSessions: get(AdminSessions),
    mfa: get(MfaService),
    devMailbox: get<DevMailbox | null>(DEV_MAILBOX),
    metrics: get(ApiMetrics),
    principalGate: get(ServicePrincipalGate),
    principalBus: get(PrincipalInvalidationBus),
    destroySegment: get(DestroySegment),
  };
}
