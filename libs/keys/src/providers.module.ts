import { BeforeApplicationShutdown, Inject, Injectable, Module } from '@nestjs/common';
import { AuditBuffer, AuditModule, auditProviderCalls } from '@app/audit';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { ProviderCallObserver } from '@app/provider-port';
import { LOGGER } from '@app/telemetry';
import type { Logger } from 'pino';
import { ProviderRegistry } from './provider-registry';

/**
 * Every provider call is audited (through the buffer) for as long as the application runs: the subscription ends
 * only after every producer has stopped (their onModuleDestroy), before the bindings close.
 */
@Injectable()
class ProvidersLifecycle implements BeforeApplicationShutdown {
  private readonly unsubscribe: Array<() => void>;

  constructor(
    observer: ProviderCallObserver,
    buffer: AuditBuffer,
    private readonly registry: ProviderRegistry,
    @Inject(LOGGER) log: Logger,
  ) {
    this.unsubscribe = [
      auditProviderCalls(observer, buffer),
      // A cold unwrap answered by the replica key because the primary region answered a transient error.
      observer.onFailover((e) =>
        log.warn(
          {
            provider: e.provider,
            operation: e.operation,
            from: e.fromClass,
            providerCode: e.providerCode,
            tenantId: e.tenantId,
            workspaceId: e.workspaceId,
          },
          'KMS call failed over to the replica key',
        ),
      ),
    ];
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const u of this.unsubscribe) u();
    await this.registry.close().catch(() => undefined);
  }
}

/**
 * The customers' clouds: each provider lib's binding built once from the environment (ProviderRegistry), and the
 * one observer every call goes through (audit, metrics, traces, failover logs).
 */
@Module({
  imports: [AuditModule],
  providers: [
    { provide: ProviderCallObserver, useFactory: () => new ProviderCallObserver() },
    {
      provide: ProviderRegistry,
      inject: [KEYHOLD_CONFIG, ProviderCallObserver, LOGGER],
      useFactory: (config: KeyholdConfig, observer: ProviderCallObserver, log: Logger) => {
        const registry = ProviderRegistry.fromEnv(config.providerEnv, observer);
        for (const [kind, why] of registry.unavailable)
          log.warn({ provider: kind, reason: why }, 'cloud provider binding not available');
        return registry;
      },
    },
    ProvidersLifecycle,
  ],
  exports: [ProviderCallObserver, ProviderRegistry],
})
export class ProvidersModule {}
