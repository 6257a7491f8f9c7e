import { Inject, Injectable, Module, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AuditLog, AuditModule } from '@app/audit';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { REDIS, REDIS_SUBSCRIBER, REPOSITORIES, type Repositories } from '@app/persistence';
import { errorSummary, LOGGER } from '@app/telemetry';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AdminSessions } from './admin-sessions';
import { LoginThrottle } from './login-throttle';
import { DevMailbox, type MailSender, UnconfiguredMailSender, WebhookMailSender } from './mail';
import { MfaChallenges, MfaRepository, MfaService, SecretBox } from './mfa';
import { PrincipalInvalidationBus } from './principal-invalidation-bus';
import { ServicePrincipalGate } from './service-principal-gate';
import { buildSso, loadSsoSettings, type Sso } from './sso';
import { TokenService } from './token-service';
import { ADMIN_AUDIENCE, INTERNAL_AUDIENCE, TokenSigner } from './tokens';
import { VerifiedTokenCache } from './verified-token-cache';

/** Two caches of one class: the admin tokens' and the service tokens'. */
export const ADMIN_TOKENS = 'keyhold:admin-tokens';
export const SERVICE_TOKENS = 'keyhold:service-tokens';
/** The mail sender (an interface: webhook, unconfigured, or the dev mailbox). */
export const MAIL_SENDER = 'keyhold:mail-sender';
/** The dev mailbox outside production, null in production. */
export const DEV_MAILBOX = 'keyhold:dev-mailbox';
/** Single sign-on: its configuration and sign-in use cases, built over one set of dependencies. */
export const SSO = 'keyhold:sso';

/**
 * How often each replica compares the generations of the service principals it caches with Postgres: the bound
 * on how long a change can go unnoticed when its pub/sub message was lost (kept under the 2 s propagation goal).
 */
export const PRINCIPAL_POLL_MS = 1_000;

@Injectable()
class AuthLifecycle implements OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly sessions: AdminSessions,
    private readonly gate: ServicePrincipalGate,
    private readonly bus: PrincipalInvalidationBus,
    @Inject(SERVICE_TOKENS) private readonly serviceTokens: VerifiedTokenCache,
  ) {}

  private unsubscribe: (() => void) | undefined;

  async onModuleInit(): Promise<void> {
    // A changed service principal: forget its verified tokens here (its DEK scope: KeysModule), and on every
    // replica through the bus; the gate's generation poll catches a lost message within one interval.
    this.unsubscribe = this.gate.onForget((id) => this.serviceTokens.dropSubject(id));
    await this.bus.start();
    this.gate.start();
    await this.sessions.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    this.gate.close();
    await this.bus.close().catch(() => undefined);
    await this.sessions.close().catch(() => undefined);
  }
}

/**
 * Who is calling: token signing and verification (cached per audience), the token endpoint's grants and login
 * throttle, admin session revocation, second factors, single sign-on, mail for one-time links, and the service
 * principal gate with its invalidation bus.
 */
@Module({
  imports: [AuditModule],
  providers: [
    {
      provide: TokenSigner,
      inject: [KEYHOLD_CONFIG],
      useFactory: (config: KeyholdConfig) => new TokenSigner(config.tokenKeys, config.tokenTtlSeconds),
    },
    {
      provide: ADMIN_TOKENS,
      inject: [TokenSigner],
      useFactory: (signer: TokenSigner) => new VerifiedTokenCache(signer, ADMIN_AUDIENCE),
    },
    {
      provide: SERVICE_TOKENS,
      inject: [TokenSigner],
      useFactory: (signer: TokenSigner) => new VerifiedTokenCache(signer, INTERNAL_AUDIENCE),
    },
    {
      provide: AdminSessions,
      inject: [REDIS, REDIS_SUBSCRIBER, KEYHOLD_CONFIG, REPOSITORIES, ADMIN_TOKENS],
      useFactory: (
        redis: Redis,
        subscriber: Redis,
        config: KeyholdConfig,
        repos: Repositories,
        adminTokens: VerifiedTokenCache,
      ) =>
        new AdminSessions(
          redis,
          subscriber,
          config.redisPrefix,
          (tid, sub) => repos.adminAccounts.currentGeneration(tid, sub),
          (sub) => adminTokens.dropSubject(sub),
        ),
    },
    {
      provide: MfaService,
      inject: [DataSource, REPOSITORIES, REDIS, KEYHOLD_CONFIG, TokenSigner, AuditLog, AdminSessions],
      useFactory: (
        ds: DataSource,
        repos: Repositories,
        redis: Redis,
        config: KeyholdConfig,
        signer: TokenSigner,
        audit: AuditLog,
        sessions: AdminSessions,
      ) =>
        new MfaService({
          ds,
          repo: new MfaRepository(ds),
          findUser: async (tid, id) => {
            const u = await repos.adminAccounts.find(tid, id);
            return u
              ? {
                  tenantId: tid,
                  id: u.id,
                  email: u.email,
                  role: u.role,
                  disabled: u.disabled,
                  sessionGeneration: u.sessionGeneration,
                }
              : null;
          },
          challenges: new MfaChallenges(redis, config.redisPrefix, config.mfa.challengeTtlSeconds),
          signer,
          audit,
          sessions: { revoked: (userId, gen) => sessions.revoked(userId, gen) },
          box: new SecretBox(config.mfa.secretKey),
          settings: config.mfa,
        }),
    },
    {
      provide: SSO,
      inject: [KEYHOLD_CONFIG, REPOSITORIES, AuditLog, REDIS, TokenSigner, AdminSessions, MfaService],
      useFactory: (
        config: KeyholdConfig,
        repos: Repositories,
        audit: AuditLog,
        redis: Redis,
        signer: TokenSigner,
        sessions: AdminSessions,
        mfa: MfaService,
      ): Sso =>
        buildSso({
          settings: loadSsoSettings(config.providerEnv, config.mode, config.tokenKeys[0].secret),
          repos,
          audit,
          redis,
          redisPrefix: config.redisPrefix,
          publicUrl: config.publicUrl,
          signer,
          sessions,
          afterFirstFactor: (user) => mfa.afterFirstFactor(user),
        }),
    },
    {
      provide: TokenService,
      inject: [REPOSITORIES, TokenSigner, REDIS, KEYHOLD_CONFIG, SSO, MfaService],
      useFactory: (
        repos: Repositories,
        signer: TokenSigner,
        redis: Redis,
        config: KeyholdConfig,
        sso: Sso,
        mfa: MfaService,
      ) =>
        new TokenService(
          repos.adminUsers,
          repos.servicePrincipals,
          signer,
          new LoginThrottle(redis, config.redisPrefix, {
            perIpPerMinute: config.rateLimit.tokenPerIpPerMinute,
            perAccountPerMinute: config.rateLimit.tokenPerPrincipalPerMinute,
          }),
          (tenantId, userId) => sso.passwordPolicy.passwordAllowed(tenantId, userId),
          (user) => mfa.afterFirstFactor(user),
        ),
    },
    {
      provide: DEV_MAILBOX,
      inject: [KEYHOLD_CONFIG, LOGGER],
      useFactory: (config: KeyholdConfig, log: Logger): DevMailbox | null =>
        config.mode === 'production'
          ? null
          : // Development delivery: the link goes to the log and the dev mailbox (never to the operator's API answer).
            new DevMailbox((m) =>
              log.info({ mail: { to: m.to, kind: m.kind, subject: m.subject, link: m.link } }, 'dev mail sent'),
            ),
    },
    {
      provide: MAIL_SENDER,
      inject: [KEYHOLD_CONFIG, DEV_MAILBOX],
      useFactory: (config: KeyholdConfig, devMailbox: DevMailbox | null): MailSender =>
        devMailbox ??
        (config.mailWebhookUrl ? new WebhookMailSender(config.mailWebhookUrl) : new UnconfiguredMailSender()),
    },
    {
      provide: ServicePrincipalGate,
      inject: [REPOSITORIES, LOGGER],
      useFactory: (repos: Repositories, log: Logger) =>
        new ServicePrincipalGate(repos.servicePrincipals, { pollIntervalMs: PRINCIPAL_POLL_MS }, (err) =>
          log.warn({ err: errorSummary(err) }, 'service principal invalidation poll failed'),
        ),
    },
    {
      provide: PrincipalInvalidationBus,
      inject: [REDIS, REDIS_SUBSCRIBER, KEYHOLD_CONFIG, ServicePrincipalGate, LOGGER],
      useFactory: (redis: Redis, subscriber: Redis, config: KeyholdConfig, gate: ServicePrincipalGate, log: Logger) =>
        new PrincipalInvalidationBus(
          redis,
          subscriber,
          config.redisPrefix,
          (id) => gate.forget(id),
          (err) => log.warn({ err: errorSummary(err) }, 'service principal invalidation problem'),
        ),
    },
    AuthLifecycle,
  ],
  exports: [
    TokenSigner,
    ADMIN_TOKENS,
    SERVICE_TOKENS,
    AdminSessions,
    MfaService,
    SSO,
    TokenService,
    DEV_MAILBOX,
    MAIL_SENDER,
    ServicePrincipalGate,
    PrincipalInvalidationBus,
  ],
})
export class AuthModule {}
