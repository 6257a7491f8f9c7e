import { Injectable, Module, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { REDIS, REDIS_SUBSCRIBER, REPOSITORIES, type Repositories } from '@app/persistence';
import { errorSummary, LOGGER } from '@app/telemetry';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { KekInvalidationBus } from './invalidation-bus';
import { KekCache } from './kek-cache';

/** Subscribes the bus at start (pub/sub and the generation poll); unsubscribes and zeroes the cache at shutdown. */
@Injectable()
class KekCacheLifecycle implements OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly cache: KekCache,
    private readonly bus: KekInvalidationBus,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.bus.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.bus.close().catch(() => undefined);
    this.cache.close();
  }
}

/**
 * A replica's plaintext KEK/DEK cache and the invalidation bus that keeps it in step with every other replica
 * (the API). The worker imports KekPublisherModule instead.
 */
@Module({
  providers: [
    {
      provide: KekCache,
      inject: [KEYHOLD_CONFIG],
      useFactory: (config: KeyholdConfig) =>
        new KekCache({
          ttlMs: config.kekCache.ttlSeconds * 1000,
          maxEntries: config.kekCache.maxEntries,
          dekMaxBytes: config.kekCache.dekMaxBytes,
        }),
    },
    {
      provide: KekInvalidationBus,
      inject: [KekCache, REDIS, REDIS_SUBSCRIBER, REPOSITORIES, KEYHOLD_CONFIG, LOGGER],
      useFactory: (
        cache: KekCache,
        redis: Redis,
        subscriber: Redis,
        repos: Repositories,
        config: KeyholdConfig,
        log: Logger,
      ) =>
        new KekInvalidationBus(
          cache,
          redis,
          subscriber,
          config.redisPrefix,
          (ids) => repos.workspaces.kekGenerations(ids),
          config.kekCache.pollIntervalMs,
          (err) => log.warn({ err: errorSummary(err) }, 'KEK invalidation problem'),
        ),
    },
    KekCacheLifecycle,
  ],
  exports: [KekCache, KekInvalidationBus],
})
export class KekCacheModule {}

/**
 * The worker's side of the bus: publish only. Never started (no subscription, no poll); the worker holds no
 * plaintext KEK cache, so the bus's own cache is a one-entry placeholder that stays empty.
 */
@Module({
  providers: [
    {
      provide: KekInvalidationBus,
      inject: [REDIS, KEYHOLD_CONFIG],
      useFactory: (redis: Redis, config: KeyholdConfig) =>
        new KekInvalidationBus(
          new KekCache({ ttlMs: 1_000, maxEntries: 1 }),
          redis,
          redis,
          config.redisPrefix,
          async () => new Map(),
          60_000,
        ),
    },
  ],
  exports: [KekInvalidationBus],
})
export class KekPublisherModule {}
