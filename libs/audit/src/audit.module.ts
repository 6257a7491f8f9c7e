import { BeforeApplicationShutdown, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { errorSummary, LOGGER } from '@app/telemetry';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AuditLog } from './audit-log';
import { AuditKeys } from './keys';
import { AuditSealer } from './sealer';
import { AuditBuffer } from './subscribers';

/** Starts the sealer; at shutdown (after every producer stopped) flushes the buffer, drains the log, stops the sealer. */
@Injectable()
class AuditLifecycle implements OnModuleInit, BeforeApplicationShutdown {
  constructor(
    private readonly audit: AuditLog,
    private readonly buffer: AuditBuffer,
    private readonly sealer: AuditSealer,
  ) {}

  onModuleInit(): void {
    this.sealer.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.buffer.flush().catch(() => undefined);
    await this.audit.drain();
    await this.sealer.stop();
  }
}

/**
 * The tenants' audit log: the hash-chained log, its buffered writer (provider calls, DEK issuance tallies) and
 * the checkpoint sealer. The API and the worker both write it.
 */
@Module({
  providers: [
    {
      provide: AuditLog,
      inject: [DataSource, KEYHOLD_CONFIG],
      useFactory: (ds: DataSource, config: KeyholdConfig) =>
        new AuditLog(ds, new AuditKeys(config.audit), {
          checkpointIntervalSeconds: config.audit.checkpointIntervalSeconds,
        }),
    },
    {
      provide: AuditSealer,
      inject: [AuditLog, KEYHOLD_CONFIG, LOGGER],
      useFactory: (audit: AuditLog, config: KeyholdConfig, log: Logger) =>
        new AuditSealer(audit, config.audit.checkpointIntervalSeconds * 1000, (tenantId, err) =>
          log.error({ tenantId, err: errorSummary(err) }, 'audit checkpoint refused or failed'),
        ),
    },
    {
      provide: AuditBuffer,
      inject: [AuditLog, LOGGER],
      useFactory: (audit: AuditLog, log: Logger) =>
        new AuditBuffer(audit, 250, (err) => log.error({ err: errorSummary(err) }, 'audit write failed')),
    },
    AuditLifecycle,
  ],
  exports: [AuditLog, AuditSealer, AuditBuffer],
})
export class AuditModule {}
