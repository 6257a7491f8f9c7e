import { Module } from '@nestjs/common';
import { AuditLog, AuditModule } from '@app/audit';
import { KEYHOLD_CONFIG, type KeyholdConfig } from '@app/config';
import { DataSource } from 'typeorm';
import { SiemDestinations } from './destinations';
import { loadSiemSettings } from './settings';

/** The tenants' SIEM destinations (create, rotate, retry; the worker's SiemRuntime delivers). */
@Module({
  imports: [AuditModule],
  providers: [
    {
      provide: SiemDestinations,
      inject: [DataSource, AuditLog, KEYHOLD_CONFIG],
      useFactory: (ds: DataSource, audit: AuditLog, config: KeyholdConfig) =>
        new SiemDestinations(ds, audit, loadSiemSettings(config.providerEnv, config.mode), config.audit.hmacKey),
    },
  ],
  exports: [SiemDestinations],
})
export class SiemModule {}
