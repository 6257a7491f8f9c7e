import type { KeyholdConfig } from '@app/config';
import { AuditBuffer, AuditLog, auditProviderCalls, DekIssuanceAggregator } from '@app/audit';
import { ADMIN_AUDIENCE, INTERNAL_AUDIENCE, RateLimiter, TokenService, TokenSigner, VerifiedTokenCache } from '@app/auth';
import { OperationDispatcher } from '@app/jobs';
import { KekCache, KekInvalidationBus } from '@app/kek-cache';
import {
  BindWorkspace,
  DestroyWorkspace,
  CreateAdminUser,
  CreateServicePrincipal,
  CreateTenant,
  CreateWorkspace,
  DekService,
  DeleteKeyConfiguration,
  GetKeyConfiguration,
  GetOperation,
  GetTenant,
  GetWorkspace,
  KekResolver,
  KeysDeps,
  ListKeyConfigurations,
  ListWorkspaces,
  ProviderRegistry,
  RegisterKeyConfiguration,
  RequestOperation,
  RequestRevocationCheck,
  ValidateKeyConfiguration,
} from '@app/keys';
import { createDataSource, createRepositories, Repositories } from '@app/persistence';
import { ProviderCallObserver } from '@app/provider-port';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { ApiMetrics } from './http/metrics';

/**
 * The API process's composition root: every long-lived object built once, in dependency order, and torn down
 * in reverse by `close()`. Controllers and the DEK routes receive this object and stay thin.
 */
export class KeyholdServices {
  readonly ds: DataSource;
  readonly repos: Repositories;
  readonly redis: Redis;
  private readonly subscriber: Redis;
  readonly observer = new ProviderCallObserver();
  readonly registry: ProviderRegistry;
  readonly audit: AuditLog;
  readonly auditBuffer: AuditBuffer;
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
  readonly metrics: ApiMetrics;
  readonly useCases: ReturnType<typeof buildUseCases>;
  private readonly unsubscribers: Array<() => void> = [];

  private constructor(
    readonly config: KeyholdConfig,
    readonly log: Logger,
  ) {
    this.ds = createDataSource(config.databaseUrl, { poolSize: config.databasePoolSize, applicationName: 'keyhold-api' });
    this.repos = createRepositories(this.ds);
    const redisOpts = { lazyConnect: true, maxRetriesPerRequest: 3, enableOfflineQueue: true };
    this.redis = new Redis(config.redisUrl, redisOpts);
    this.subscriber = new Redis(config.redisUrl, { ...redisOpts, maxRetriesPerRequest: null });
    // ioredis reconnects by itself; without a listener an outage is printed as an "Unhandled error event".
    for (const [name, client] of [['redis', this.redis], ['redis-subscriber', this.subscriber]] as const)
      client.on('error', (err: Error) => log.warn({ client: name, err: { name: err.name, message: err.message } }, 'Redis connection error'));
    this.registry = ProviderRegistry.fromEnv(config.providerEnv, this.observer);
    for (const [kind, why] of this.registry.unavailable) log.warn({ provider: kind, reason: why }, 'cloud provider binding not available');
    this.audit = new AuditLog(this.ds);
    this.auditBuffer = new AuditBuffer(this.audit, 250, (err) => log.error({ err: errorSummary(err) }, 'audit write failed'));
    this.unsubscribers.push(auditProviderCalls(this.observer, this.auditBuffer));
    this.issuance = new DekIssuanceAggregator(this.auditBuffer, 10_000);
    this.kekCache = new KekCache({ ttlMs: config.kekCache.ttlSeconds * 1000, maxEntries: config.kekCache.maxEntries });
    this.kekBus = new KekInvalidationBus(
      this.kekCache,
      this.redis,
      this.subscriber,
      config.redisPrefix,
      (ids) => this.repos.workspaces.stateVersions(ids),
      config.kekCache.pollIntervalMs,
      (err) => log.warn({ err: errorSummary(err) }, 'KEK invalidation problem'),
    );
    this.dispatcher = new OperationDispatcher(this.redis, config.redisPrefix);
    this.signer = new TokenSigner(config.tokenSecret, config.tokenTtlSeconds);
    this.adminTokens = new VerifiedTokenCache(this.signer, ADMIN_AUDIENCE);
    this.serviceTokens = new VerifiedTokenCache(this.signer, INTERNAL_AUDIENCE);
    this.tokens = new TokenService(this.repos.adminUsers, this.repos.servicePrincipals, this.signer, new RateLimiter(this.redis, config.redisPrefix), {
      perIpPerMinute: config.rateLimit.tokenPerIpPerMinute,
      perPrincipalPerMinute: config.rateLimit.tokenPerPrincipalPerMinute,
    });
    const deps: KeysDeps = { repos: this.repos, registry: this.registry, audit: this.audit, dispatcher: this.dispatcher, kekInvalidator: this.kekBus };
    this.useCases = buildUseCases(deps);
    this.kekResolver = new KekResolver(
      this.repos,
      this.registry,
      this.kekCache,
      {
        onRevocationSuspected: async (tenantId, workspaceId, errorClass) => {
          const id = await this.useCases.requestRevocationCheck.execute(tenantId, workspaceId, errorClass);
          log.warn({ tenantId, workspaceId, errorClass, operationId: id }, 'customer key refused unwrap; revocation check requested');
        },
      },
      config.dek.retryAfterSeconds,
      (err) => log.warn({ err: errorSummary(err) }, 'KEK resolver side effect failed'),
    );
    this.deks = new DekService(
      this.repos,
      this.kekResolver,
      {
        stateCacheTtlMs: config.dek.stateCacheTtlMs,
        wrappedCacheEntries: config.dek.wrappedCacheEntries,
        wrapReserveChunk: config.kekRotation.wrapReserveChunk,
        batchMax: config.dek.batchMax,
      },
      this.issuance,
      (id, v) => this.kekBus.observe(id, v),
    );
    this.unsubscribers.push(this.kekCache.onInvalidate((_t, workspaceId) => this.deks.forgetWorkspace(workspaceId)));
    this.metrics = new ApiMetrics(this);
  }

  static async start(config: KeyholdConfig, log: Logger): Promise<KeyholdServices> {
    const s = new KeyholdServices(config, log);
    try {
      await s.ds.initialize();
      await s.redis.connect();
      await s.subscriber.connect();
      await s.kekBus.start();
    } catch (err) {
      await s.close().catch(() => undefined);
      throw err;
    }
    return s;
  }

  async close(): Promise<void> {
    for (const u of this.unsubscribers) u();
    this.issuance.close();
    await this.auditBuffer.flush().catch(() => undefined);
    await this.audit.drain();
    await this.kekBus.close().catch(() => undefined);
    this.kekCache.close();
    await this.dispatcher.close().catch(() => undefined);
    await this.registry.close().catch(() => undefined);
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

function buildUseCases(deps: KeysDeps) {
  return {
    createTenant: new CreateTenant(deps),
    getTenant: new GetTenant(deps),
    createAdminUser: new CreateAdminUser(deps),
    createServicePrincipal: new CreateServicePrincipal(deps),
    registerKeyConfiguration: new RegisterKeyConfiguration(deps),
    validateKeyConfiguration: new ValidateKeyConfiguration(deps),
    listKeyConfigurations: new ListKeyConfigurations(deps),
    getKeyConfiguration: new GetKeyConfiguration(deps),
    deleteKeyConfiguration: new DeleteKeyConfiguration(deps),
    createWorkspace: new CreateWorkspace(deps),
    listWorkspaces: new ListWorkspaces(deps),
    getWorkspace: new GetWorkspace(deps),
    bindWorkspace: new BindWorkspace(deps),
    destroyWorkspace: new DestroyWorkspace(deps),
    requestOperation: new RequestOperation(deps),
    requestRevocationCheck: new RequestRevocationCheck(deps),
    getOperation: new GetOperation(deps),
  };
}

/** Name and code of an error, never its full object (SDK errors can carry request data). */
export function errorSummary(err: unknown): { name: string; message: string; code?: string } {
  const e = err as { name?: string; message?: string; code?: string };
  return { name: String(e?.name ?? 'Error'), message: String(e?.message ?? err).slice(0, 500), ...(e?.code ? { code: String(e.code) } : {}) };
}
