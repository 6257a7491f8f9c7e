/**
 * Child-process entry: the cloud emulators on ephemeral loopback ports, reported to the parent over IPC.
 * The benchmark drives AWS only, so when starting all three emulators fails (Azure or GCP throws at start) it
 * starts the AWS emulator alone with the shared core pieces and the admin API.
 */
import { AdminServer } from '../../apps/kms-emulator/src/core/admin-server';
import type { CloudEmulator, EmulatorContext } from '../../apps/kms-emulator/src/core/cloud';
import { CallCounters } from '../../apps/kms-emulator/src/core/counters';
import { FaultEngine } from '../../apps/kms-emulator/src/core/faults';
import { loadOrCreateTls } from '../../apps/kms-emulator/src/core/tls';
import { createAwsEmulator } from '../../apps/kms-emulator/src/aws';
import { startEmulators } from '../../apps/kms-emulator/src/emulator-host';

export interface EmulatorsReady {
  type: 'emulators-ready';
  awsUrl: string;
  adminUrl: string;
  tlsCertFile: string;
  mode: 'all' | 'aws-only';
}

async function main(): Promise<void> {
  const tlsFile = process.env.BENCH_EMULATOR_TLS_FILE;
  if (!tlsFile) throw new Error('BENCH_EMULATOR_TLS_FILE must name where the emulator TLS material is kept');
  let close: () => Promise<void>;
  let ready: EmulatorsReady;
  try {
    const all = await startEmulators({ host: '127.0.0.1', ports: { aws: 0, azure: 0, gcp: 0, admin: 0 }, tlsFile });
    close = () => all.close();
    ready = { type: 'emulators-ready', awsUrl: all.aws.url, adminUrl: all.admin.url, tlsCertFile: `${tlsFile}.cert.pem`, mode: 'all' };
  } catch (err) {
    process.stderr.write(`all-cloud start failed (${(err as Error).message}); starting AWS alone\n`);
    const faults = new FaultEngine();
    const counters = new CallCounters();
    const tls = loadOrCreateTls(tlsFile);
    const ctx: EmulatorContext = { faults, counters, tls, persist: () => undefined };
    const aws: CloudEmulator = createAwsEmulator(ctx, {});
    const awsAt = await aws.start('127.0.0.1', 0);
    const admin = new AdminServer(faults, counters, [aws], () => undefined);
    const adminAt = await admin.start('127.0.0.1', 0);
    close = async () => {
      await Promise.all([aws.close(), admin.close()]);
    };
    ready = { type: 'emulators-ready', awsUrl: awsAt.url, adminUrl: adminAt.url, tlsCertFile: `${tlsFile}.cert.pem`, mode: 'aws-only' };
  }
  process.send?.(ready);
  const stop = (): void => {
    // the process exits however close() ends: nothing awaits it
    void close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulators failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
