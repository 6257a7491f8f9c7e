/** Child-process entry: the cloud emulators on ephemeral loopback ports (stack/emulators.ts), reported to the parent over IPC. */
import { startStackEmulators } from '../../stack/emulators';

export interface EmulatorsReady {
  type: 'emulators-ready';
  awsUrl: string;
  adminUrl: string;
  tlsCertFile: string;
}

async function main(): Promise<void> {
  const tlsFile = process.env.BENCH_EMULATOR_TLS_FILE;
  if (!tlsFile) throw new Error('BENCH_EMULATOR_TLS_FILE must name where the emulator TLS material is kept');
  const all = await startStackEmulators({ tlsFile });
  const ready: EmulatorsReady = {
    type: 'emulators-ready',
    awsUrl: all.aws.url,
    adminUrl: all.admin.url,
    tlsCertFile: `${tlsFile}.cert.pem`,
  };
  process.send?.(ready);
  const stop = (): void => {
    void all.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`emulators failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
