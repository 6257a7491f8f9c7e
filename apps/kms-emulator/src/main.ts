import { DEFAULT_PORTS, startEmulators } from './emulator-host';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name} must be a port number (0-65535), got "${raw}"`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const running = await startEmulators({
    host: process.env.KEYHOLD_EMULATOR_HOST ?? '127.0.0.1',
    ports: {
      aws: port('KEYHOLD_EMULATOR_AWS_PORT', DEFAULT_PORTS.aws),
      azure: port('KEYHOLD_EMULATOR_AZURE_PORT', DEFAULT_PORTS.azure),
      gcp: port('KEYHOLD_EMULATOR_GCP_PORT', DEFAULT_PORTS.gcp),
      admin: port('KEYHOLD_EMULATOR_ADMIN_PORT', DEFAULT_PORTS.admin),
      gcpIam: port('KEYHOLD_EMULATOR_GCP_IAM_PORT', DEFAULT_PORTS.gcpIam),
    },
    stateFile: process.env.KEYHOLD_EMULATOR_STATE_FILE || undefined,
    tlsFile: process.env.KEYHOLD_EMULATOR_TLS_FILE || '.keyhold/emulator-tls',
    tlsHosts: (process.env.KEYHOLD_EMULATOR_TLS_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  });
  console.log(`aws    KMS/STS/IAM   ${running.aws.url}`);
  console.log(
    `azure  Key Vault     ${running.azure.url}  (Entra token endpoint at https://127.0.0.1:${running.azure.port}; trust ${process.env.KEYHOLD_EMULATOR_TLS_FILE || '.keyhold/emulator-tls'}.cert.pem)`,
  );
  console.log(`gcp    Cloud KMS     ${running.gcp.host}:${running.gcp.port}  (gRPC over TLS)`);
  console.log(`gcp    IAM Credentials ${running.gcp.iamCredentials}  (generateAccessToken for impersonation)`);
  console.log(`admin  emulator API  ${running.admin.url}`);
  const stop = async (): Promise<void> => {
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(`emulators failed to start: ${(err as Error).message}`);
  process.exit(1);
});
