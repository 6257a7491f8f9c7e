import { BeforeApplicationShutdown, Global, Injectable, Module } from '@nestjs/common';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { DISPATCHER, REDIS } from '@app/persistence';
import type Redis from 'ioredis';
import { OperationDispatcher } from './dispatcher';

@Injectable()
class DispatcherLifecycle implements BeforeApplicationShutdown {
  constructor(private readonly dispatcher: OperationDispatcher) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

/**
 * The durable operations' queues as the API sees them: the dispatcher that hands an operation row to BullMQ (and
 * the queues the operators' dashboard shows), also bound to the keys' Dispatcher port. Global, because libs/keys
 * cannot import this lib at load time (this lib loads libs/keys); the token lives in libs/persistence, below both. The worker's runtime (the queues' consumers) is
 * built by the worker root.
 */
@Global()
@Module({
  providers: [
    {
      provide: OperationDispatcher,
      inject: [REDIS, KEYHOLD_CONFIG],
      useFactory: (redis: Redis, config: KeyholdConfig) => new OperationDispatcher(redis, config.redisPrefix),
    },
    { provide: DISPATCHER, useExisting: OperationDispatcher },
    DispatcherLifecycle,
  ],
  exports: [OperationDispatcher, DISPATCHER],
})
export class JobsModule {}
