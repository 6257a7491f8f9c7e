import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { LOGGER } from '@app/telemetry';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source';
import { createRepositories, type Repositories } from './repositories';

/** Injection tokens of the stores (interfaces and second instances of one class need tokens of their own). */
export const REPOSITORIES = 'keyhold:repositories';
/** The command connection to Redis. */
export const REDIS = 'keyhold:redis';
/** The subscriber connection (pub/sub puts a connection in subscriber mode; the API's buses need one). */
export const REDIS_SUBSCRIBER = 'keyhold:redis-subscriber';
/**
 * The token of the operation dispatcher (the keys' Dispatcher port, provided by the global JobsModule). Defined
 * here, below both libs, because libs/jobs and libs/keys load each other: neither can name the other's exports
 * while its module decorators run.
 */
export const DISPATCHER = 'keyhold:dispatcher';
/** The worker's second pool: one connection per job that may hold a workspace advisory lock. */
export const LOCKS_DATA_SOURCE = 'locks';

export interface PersistenceOptions {
  /** Postgres application_name of the main pool. */
  readonly applicationName: string;
  /**
   * 'api': two lazy connections (commands with maxRetriesPerRequest 3, a subscriber); 'worker': one connection
   * with maxRetriesPerRequest null, as BullMQ requires of workers (the subscriber token names the same client).
   */
  readonly redis: 'api' | 'worker';
  /** Size of the lock pool (the worker); absent: no lock pool. */
  readonly lockPoolSize?: number;
}

/** Connects the Redis clients when the application starts and quits them last, after every module has stopped. */
@Injectable()
class RedisLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
  ) {}

  async onModuleInit(): Promise<void> {
    for (const c of new Set([this.redis, this.subscriber])) if (c.status === 'wait') await c.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.subscriber !== this.redis) this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function redisClient(url: string, role: 'commands' | 'subscriber' | 'worker', log: Logger): Redis {
  const client =
    role === 'worker'
      ? new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: true })
      : new Redis(url, {
          lazyConnect: true,
          maxRetriesPerRequest: role === 'subscriber' ? null : 3,
          enableOfflineQueue: true,
        });
  // ioredis reconnects by itself; without a listener an outage is printed as an "Unhandled error event".
  client.on('error', (err: Error) =>
    log.warn({ client: role, err: { name: err.name, message: err.message } }, 'Redis connection error'),
  );
  return client;
}

/**
 * The stores: Postgres through @nestjs/typeorm (the DataSource, and the worker's lock pool), the repositories over
 * it, and the Redis connections. Global, imported once by each root with the root's pool and Redis shape.
 */
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceOptions): DynamicModule {
    const retry = { toRetry: () => false };
    const typeorm = [
      TypeOrmModule.forRootAsync({
        ...retry,
        inject: [KEYHOLD_CONFIG],
        useFactory: (config: KeyholdConfig) =>
          dataSourceOptions(config.databaseUrl, {
            poolSize: config.databasePoolSize,
            applicationName: options.applicationName,
          }),
      }),
    ];
    const lockPoolSize = options.lockPoolSize;
    if (lockPoolSize !== undefined)
      typeorm.push(
        TypeOrmModule.forRootAsync({
          ...retry,
          name: LOCKS_DATA_SOURCE,
          inject: [KEYHOLD_CONFIG],
          // The name again in the options: TypeOrmModule finds this DataSource by it at shutdown.
          useFactory: (config: KeyholdConfig) => ({
            ...dataSourceOptions(config.databaseUrl, {
              poolSize: lockPoolSize,
              applicationName: `${options.applicationName}-locks`,
            }),
            // eslint-disable-next-line @typescript-eslint/no-deprecated -- @nestjs/typeorm 11 still keys a second DataSource by this option
            name: LOCKS_DATA_SOURCE,
          }),
        }),
      );
    return {
      module: PersistenceModule,
      global: true,
      imports: typeorm,
      providers: [
        {
          provide: REPOSITORIES,
          inject: [DataSource],
          useFactory: (ds: DataSource): Repositories => createRepositories(ds),
        },
        {
          provide: REDIS,
          inject: [KEYHOLD_CONFIG, LOGGER],
          useFactory: (config: KeyholdConfig, log: Logger) =>
            redisClient(config.redisUrl, options.redis === 'worker' ? 'worker' : 'commands', log),
        },
        {
          provide: REDIS_SUBSCRIBER,
          inject: [KEYHOLD_CONFIG, LOGGER, REDIS],
          useFactory: (config: KeyholdConfig, log: Logger, redis: Redis) =>
            options.redis === 'worker' ? redis : redisClient(config.redisUrl, 'subscriber', log),
        },
        RedisLifecycle,
      ],
      exports: [TypeOrmModule, REPOSITORIES, REDIS, REDIS_SUBSCRIBER],
    };
  }
}
