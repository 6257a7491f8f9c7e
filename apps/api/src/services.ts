import type { KeyholdConfig } from '@app/config';
import { AuditBuffer, AuditKeys, AuditLog, auditProviderCalls, AuditSealer, DekIssuanceAggregator, KeyUseReport } from '@app/audit';
import {
  ADMIN_AUDIENCE,
  AdminSessions,
  buildSso,
  DevMailbox,
  loadSsoSettings,
  Sso,
  INTERNAL_AUDIENCE,
  LoginThrottle,
  MailSender,
  PrincipalInvalidationBus,
  ServicePrincipalGate,
  TokenService,
  TokenSigner,
  UnconfiguredMailSender,
  VerifiedTokenCache,
  WebhookMailSender,
  MfaChallenges,
  MfaRepository,
  MfaService,
  SecretBox,
} from '@app/auth';
import { OperationDispatcher } from '@app/jobs';
import { KekCache, KekInvalidationBus } from '@app/kek-cache';
import {
  accessReasonUseCases,
  AccessReasonUseCases,
  REASON_SLOT_NAMES,
  AcceptInvitation,
  BindWorkspace,
  ChangePassword,
  CompletePasswordReset,
  CreateInvitation,
  CredentialsDeps,
  DeleteAdminUser,
  DescribeInvitation,
  ListAdminUsers,
  ListInvitations,
  RequestPasswordReset,
  RevokeInvitation,
  UpdateAdminUser,
  DestroyWorkspace,
  CreateServicePrincipal,
  CreateTenant,
  CreateWorkspace,
  DekCreationHooks,
  DekCreationLimiter,
  DekService,
  DestroySegment,
  DeleteKeyConfiguration,
  DeleteServicePrincipal,
  GetKeyConfiguration,
  GetOperation,
  GetServicePrincipal,
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
  RevokeServicePrincipalSecret,
  RotateServicePrincipalSecret,
  ServicePrincipalDeps,
  UpdateServicePrincipal,
  ListOperations,
  ListCursors,
  ListServicePrincipals,
  StartBulkAction,
  GetBulkOperation,
  RequestWrapLimitRotation,
  SetServicePrincipalPermissions,
  ValidateKeyConfiguration,
} from '@app/keys';
import { createDataSource, createRepositories, Repositories } from '@app/persistence';
import { ProviderCallObserver } from '@app/provider-port';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { ApiMetrics } from './http/metrics';
import { loadSiemSettings, SiemDestinations } from '@app/siem';

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
  /** Signs a checkpoint per interval for every tenant whose audit log grew. */
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
  /** Admin session revocation shared by every replica (generation per user, Redis pub/sub). */
  readonly adminSessions: AdminSessions;
  /** Second factors of tenant admins and the second step of their sign-in. */
  readonly mfa: MfaService;
  readonly mail: MailSender;
  /** Non-production only: the messages the dev mail sender "sent" (served at /dev/mailbox). */
  readonly devMailbox: DevMailbox | null;
  readonly metrics: ApiMetrics;
  /** Single sign-on per tenant (OpenID Connect): configuration and the sign-in round trip. */
  readonly sso: Sso;
  readonly useCases: ReturnType<typeof buildUseCases>;
  /** Admits service tokens only while their credential is good; forgets principals on change (every replica). */
  readonly principalGate: ServicePrincipalGate;
  readonly principalBus: PrincipalInvalidationBus;
  readonly principalUseCases: ReturnType<typeof buildPrincipalUseCases>;
  /** Segment-level crypto-shred and the service principal permissions that allow it. */
  readonly segments: { readonly destroy: DestroySegment; readonly setPermissions: SetServicePrincipalPermissions };
  /** The tenants' SIEM destinations (the worker delivers; docs/AUDIT.md). */
  readonly siem: SiemDestinations;
  /** The server-side operations history (GET …/operations). */
  readonly operationsHistory: ListOperations;
  /** Key access justifications: reason policies and key use by reason (libs/keys access-reason-policy.use-cases.ts). */
  readonly accessReasons: AccessReasonUseCases;
  /** The paged lists of the admin API and the bulk actions over their selections. */
  readonly lists: ReturnType<typeof buildLists>;
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
    this.audit = new AuditLog(this.ds, new AuditKeys(config.audit), { checkpointIntervalSeconds: config.audit.checkpointIntervalSeconds });
    this.sealer = new AuditSealer(this.audit, config.audit.checkpointIntervalSeconds * 1000, (tenantId, err) =>
      log.error({ tenantId, err: errorSummary(err) }, 'audit checkpoint refused or failed'),
    );
    this.auditBuffer = new AuditBuffer(this.audit, 250, (err) => log.error({ err: errorSummary(err) }, 'audit write failed'));
    this.unsubscribers.push(auditProviderCalls(this.observer, this.auditBuffer));
    this.unsubscribers.push(
      this.observer.onFailover((e) =>
        log.warn({ provider: e.provider, operation: e.operation, from: e.fromClass, providerCode: e.providerCode, tenantId: e.tenantId, workspaceId: e.workspaceId }, 'KMS call failed over to the replica key'),
      ),
    );
    this.issuance = new DekIssuanceAggregator(this.auditBuffer, 10_000, REASON_SLOT_NAMES);
    this.kekCache = new KekCache({ ttlMs: config.kekCache.ttlSeconds * 1000, maxEntries: config.kekCache.maxEntries, dekMaxBytes: config.kekCache.dekMaxBytes });
    this.kekBus = new KekInvalidationBus(
      this.kekCache,
      this.redis,
      this.subscriber,
      config.redisPrefix,
      (ids) => this.repos.workspaces.kekGenerations(ids),
      config.kekCache.pollIntervalMs,
      (err) => log.warn({ err: errorSummary(err) }, 'KEK invalidation problem'),
    );
    this.dispatcher = new OperationDispatcher(this.redis, config.redisPrefix);
    this.signer = new TokenSigner(config.tokenKeys, config.tokenTtlSeconds);
    this.adminTokens = new VerifiedTokenCache(this.signer, ADMIN_AUDIENCE);
    this.serviceTokens = new VerifiedTokenCache(this.signer, INTERNAL_AUDIENCE);
    this.mfa = new MfaService({
      ds: this.ds,
      repo: new MfaRepository(this.ds),
      findUser: async (tid, id) => {
        const u = await this.repos.adminAccounts.find(tid, id);
        return u ? { tenantId: tid, id: u.id, email: u.email, role: u.role, disabled: u.disabled, sessionGeneration: u.sessionGeneration } : null;
      },
      challenges: new MfaChallenges(this.redis, config.redisPrefix, config.mfa.challengeTtlSeconds),
      signer: this.signer,
      audit: this.audit,
      sessions: { revoked: (userId, gen) => this.adminSessions.revoked(userId, gen) },
      box: new SecretBox(config.mfa.secretKey),
      settings: config.mfa,
    });
    this.tokens = new TokenService(
      this.repos.adminUsers,
      this.repos.servicePrincipals,
      this.signer,
      new LoginThrottle(this.redis, config.redisPrefix, { perIpPerMinute: config.rateLimit.tokenPerIpPerMinute, perAccountPerMinute: config.rateLimit.tokenPerPrincipalPerMinute }),
      (tenantId, userId) => this.sso.passwordPolicy.passwordAllowed(tenantId, userId),
      (user) => this.mfa.afterFirstFactor(user),
    );
    this.adminSessions = new AdminSessions(
      this.redis,
      this.subscriber,
      config.redisPrefix,
      (tid, sub) => this.repos.adminAccounts.currentGeneration(tid, sub),
      (sub) => this.adminTokens.dropSubject(sub),
    );
    if (config.mode === 'production') {
      this.devMailbox = null;
      this.mail = config.mailWebhookUrl ? new WebhookMailSender(config.mailWebhookUrl) : new UnconfiguredMailSender();
    } else {
      // Development delivery: the link goes to the log and the dev mailbox (never to the operator's API answer).
      this.devMailbox = new DevMailbox((m) => log.info({ mail: { to: m.to, kind: m.kind, subject: m.subject, link: m.link } }, 'dev mail sent'));
      this.mail = this.devMailbox;
    }
    this.sso = buildSso({
      settings: loadSsoSettings(config.providerEnv, config.mode, config.tokenKeys[0].secret),
      repos: this.repos,
      audit: this.audit,
      redis: this.redis,
      redisPrefix: config.redisPrefix,
      publicUrl: config.publicUrl,
      signer: this.signer,
      sessions: this.adminSessions,
      afterFirstFactor: (user) => this.mfa.afterFirstFactor(user),
    });
    const deps: KeysDeps = { repos: this.repos, registry: this.registry, audit: this.audit, dispatcher: this.dispatcher, kekInvalidator: this.kekBus };
    const credentials: CredentialsDeps = {
      ...deps,
      mail: this.mail,
      sessions: this.adminSessions,
      invitationTtlSeconds: config.credentials.invitationTtlSeconds,
      passwordResetTtlSeconds: config.credentials.passwordResetTtlSeconds,
      consoleUrl: config.publicUrl,
      onBackgroundError: (err) => log.warn({ err: errorSummary(err) }, 'password reset request failed'),
    };
    this.useCases = buildUseCases(deps, credentials);
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
        quotaPerWorkspace: config.dek.quotaPerWorkspace,
        softWrapLimit: config.kekRotation.maxWraps,
        hardWrapCap: config.kekRotation.wrapHardCap,
        retryAfterSeconds: config.dek.retryAfterSeconds,
      },
      this.issuance,
      (id, generation) => this.kekBus.observe(id, generation),
      dekCreationHooks(this.useCases.requestWrapLimitRotation, new DekCreationLimiter(this.redis, config.redisPrefix, config.dek.createRatePerMinute), log),
    );
    this.unsubscribers.push(this.kekCache.onInvalidate((_t, workspaceId) => this.deks.forgetWorkspace(workspaceId)));
    // A changed service principal: forget its admission state, its verified tokens and its DEK scope, here and
    // (through the bus) on every replica; the gate's generation poll catches a lost message within one interval.
    this.principalGate = new ServicePrincipalGate(this.repos.servicePrincipals, { pollIntervalMs: PRINCIPAL_POLL_MS }, (err) =>
      log.warn({ err: errorSummary(err) }, 'service principal invalidation poll failed'),
    );
    this.unsubscribers.push(
      this.principalGate.onForget((id) => {
        this.serviceTokens.dropSubject(id);
        this.deks.forgetPrincipal(id);
      }),
    );
    this.principalBus = new PrincipalInvalidationBus(this.redis, this.subscriber, config.redisPrefix, (id) => this.principalGate.forget(id), (err) =>
      log.warn({ err: errorSummary(err) }, 'service principal invalidation problem'),
    );
    const principalDeps: ServicePrincipalDeps = {
      ...deps,
      principalInvalidator: {
        servicePrincipalChanged: (tenantId, id) =>
          // Redis down: the change is committed and every replica's poll converges within PRINCIPAL_POLL_MS.
          this.principalBus.servicePrincipalChanged(tenantId, id).catch((err: unknown) => log.warn({ err: errorSummary(err), tenantId, servicePrincipalId: id }, 'principal invalidation not published')),
      },
    };
    this.principalUseCases = buildPrincipalUseCases(principalDeps);
    this.accessReasons = accessReasonUseCases(principalDeps, new KeyUseReport(this.ds));
    this.unsubscribers.push(this.kekBus.onSegmentDestroyed((workspaceId, segmentId) => this.deks.forgetSegment(workspaceId, segmentId)));
    this.metrics = new ApiMetrics(this);
    this.segments = {
      destroy: new DestroySegment(
        this.repos,
        this.audit,
        this.kekBus,
        (actor, outcome) => this.metrics.segmentDestroys.inc({ principal: actor, outcome }),
        (err) => log.warn({ err: errorSummary(err) }, 'segment destroy invalidation not published; the fallback poll covers it'),
      ),
      setPermissions: new SetServicePrincipalPermissions(this.repos, this.audit),
    };
    const cursors = new ListCursors(config.tokenKeys.map((k) => k.secret));
    this.operationsHistory = new ListOperations(deps, cursors);
    this.lists = buildLists(deps, cursors, this.useCases, (err) => log.error({ err: errorSummary(err) }, 'bulk operation item failed unexpectedly'));
    this.siem = new SiemDestinations(this.ds, this.audit, loadSiemSettings(config.providerEnv, config.mode), config.audit.hmacKey);
  }

  static async start(config: KeyholdConfig, log: Logger): Promise<KeyholdServices> {
    const s = new KeyholdServices(config, log);
    try {
      await s.ds.initialize();
      await s.redis.connect();
      await s.subscriber.connect();
      await s.kekBus.start();
      await s.principalBus.start();
      s.principalGate.start();
      s.sealer.start();
      await s.adminSessions.start();
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
    await this.sealer.stop();
    await this.kekBus.close().catch(() => undefined);
    this.principalGate.close();
    await this.principalBus.close().catch(() => undefined);
    await this.adminSessions.close().catch(() => undefined);
    this.kekCache.close();
    await this.dispatcher.close().catch(() => undefined);
    await this.registry.close().catch(() => undefined);
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

function buildLists(deps: KeysDeps, cursors: ListCursors, useCases: ReturnType<typeof buildUseCases>, onBackgroundError: (err: unknown) => void) {
  return {
    workspaces: new ListWorkspaces(deps, cursors),
    keyConfigurations: new ListKeyConfigurations(deps, cursors),
    servicePrincipals: new ListServicePrincipals(deps, cursors),
    bulk: new StartBulkAction(deps, useCases.bindWorkspace, useCases.requestOperation, onBackgroundError),
    getBulk: new GetBulkOperation(deps),
  };
}

function buildUseCases(deps: KeysDeps, credentials: CredentialsDeps) {
  const createInvitation = new CreateInvitation(credentials);
  return {
    createTenant: new CreateTenant(deps, createInvitation),
    getTenant: new GetTenant(deps),
    createInvitation,
    listInvitations: new ListInvitations(credentials),
    revokeInvitation: new RevokeInvitation(credentials),
    describeInvitation: new DescribeInvitation(credentials),
    acceptInvitation: new AcceptInvitation(credentials),
    changePassword: new ChangePassword(credentials),
    requestPasswordReset: new RequestPasswordReset(credentials),
    completePasswordReset: new CompletePasswordReset(credentials),
    listAdminUsers: new ListAdminUsers(credentials),
    updateAdminUser: new UpdateAdminUser(credentials),
    deleteAdminUser: new DeleteAdminUser(credentials),
    createServicePrincipal: new CreateServicePrincipal(deps),
    registerKeyConfiguration: new RegisterKeyConfiguration(deps),
    validateKeyConfiguration: new ValidateKeyConfiguration(deps),
    getKeyConfiguration: new GetKeyConfiguration(deps),
    deleteKeyConfiguration: new DeleteKeyConfiguration(deps),
    createWorkspace: new CreateWorkspace(deps),
    getWorkspace: new GetWorkspace(deps),
    bindWorkspace: new BindWorkspace(deps),
    destroyWorkspace: new DestroyWorkspace(deps),
    requestOperation: new RequestOperation(deps),
    requestRevocationCheck: new RequestRevocationCheck(deps),
    requestWrapLimitRotation: new RequestWrapLimitRotation(deps),
    getOperation: new GetOperation(deps),
  };
}

/**
 * How often each replica compares the generations of the service principals it caches with Postgres: the bound
 * on how long a change can go unnoticed when its pub/sub message was lost (kept under the 2 s propagation goal).
 */
const PRINCIPAL_POLL_MS = 1_000;

function buildPrincipalUseCases(deps: ServicePrincipalDeps) {
  return {
    get: new GetServicePrincipal(deps),
    update: new UpdateServicePrincipal(deps),
    remove: new DeleteServicePrincipal(deps),
    rotateSecret: new RotateServicePrincipalSecret(deps),
    revokeSecret: new RevokeServicePrincipalSecret(deps),
  };
}

/** DEK creation's rate limit and its immediate wrap-limit rotations (the warm fetch path never calls these). */
function dekCreationHooks(rotation: RequestWrapLimitRotation, limiter: DekCreationLimiter, log: Logger): DekCreationHooks {
  return {
    chargeCreations: (principalId, n) => limiter.charge(principalId, n),
    rotationNeeded: async (tenantId, workspaceId, why) => {
      const operationId = await rotation.execute(tenantId, workspaceId);
      log.warn({ tenantId, workspaceId, reason: why, operationId }, 'KEK wrap limit: rotation requested');
    },
  };
}

/** Name and code of an error, never its full object (SDK errors can carry request data). */
export function errorSummary(err: unknown): { name: string; message: string; code?: string } {
  const e = err as { name?: string; message?: string; code?: string };
  return { name: String(e?.name ?? 'Error'), message: String(e?.message ?? err).slice(0, 500), ...(e?.code ? { code: String(e.code) } : {}) };
}
