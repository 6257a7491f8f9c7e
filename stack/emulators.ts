import { AWS_EMULATOR_DEFAULTS } from '../apps/kms-emulator/src/aws';
import { AzureEmulator, AZURE_EMULATOR_DEFAULTS } from '../apps/kms-emulator/src/azure';
import { startEmulators, type RunningEmulators } from '../apps/kms-emulator/src/emulator-host';
import { GCP_EMULATOR_DEFAULTS } from '../apps/kms-emulator/src/gcp';

/** The three cloud emulators in this process, every port ephemeral, plus the Azure vault URL customers register. */
export type StackEmulators = RunningEmulators & { azureVaultUrl: string };

export async function startStackEmulators(options: { tlsFile?: string } = {}): Promise<StackEmulators> {
  const all = await startEmulators({
    host: '127.0.0.1',
    ports: { aws: 0, azure: 0, gcp: 0, admin: 0, gcpIam: 0 },
    ...options,
  });
  return Object.assign(all, { azureVaultUrl: (all.clouds.azure as AzureEmulator).vaultUrl() });
}

/**
 * The product's provider settings for these emulators (the vendor's own credentials in each cloud). No SDK retries
 * and short deadlines (`timeoutMs`): a hung KMS must turn into a 503 within a test's fault window.
 */
export function emulatorProviderEnv(e: RunningEmulators, timeoutMs = 3_000): Record<string, string> {
  const aws = AWS_EMULATOR_DEFAULTS;
  const azure = e.clouds.azure as AzureEmulator;
  return {
    KEYHOLD_MODE: 'test',
    KEYHOLD_AWS_REGION: aws.region,
    KEYHOLD_AWS_KMS_ENDPOINT: e.aws.url,
    KEYHOLD_AWS_STS_ENDPOINT: e.aws.url,
    KEYHOLD_AWS_ACCESS_KEY_ID: aws.vendorAccessKeyId,
    KEYHOLD_AWS_SECRET_ACCESS_KEY: aws.vendorSecretAccessKey,
    KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN: `arn:aws:iam::${aws.vendorAccountId}:user/${aws.vendorUserName}`,
    KEYHOLD_AWS_MAX_ATTEMPTS: '1',
    KEYHOLD_AWS_REQUEST_TIMEOUT_MS: String(timeoutMs),
    KEYHOLD_AZURE_AUTHORITY_HOST: azure.authorityHost(),
    KEYHOLD_AZURE_CLIENT_ID: AZURE_EMULATOR_DEFAULTS.vendorClientId,
    KEYHOLD_AZURE_CLIENT_SECRET: AZURE_EMULATOR_DEFAULTS.vendorClientSecret,
    // The emulated vault host is allowed by explicit configuration only, and never in production mode.
    KEYHOLD_AZURE_EMULATOR_HOSTS: `${AZURE_EMULATOR_DEFAULTS.vaultHost}:${e.azure.port}=127.0.0.1`,
    KEYHOLD_AZURE_CA_PEM: e.tls.caPem,
    KEYHOLD_AZURE_MAX_RETRIES: '0',
    KEYHOLD_AZURE_REQUEST_TIMEOUT_MS: String(timeoutMs),
    KEYHOLD_GCP_KMS_ENDPOINT: `${e.gcp.host}:${e.gcp.port}`,
    KEYHOLD_GCP_IAM_ENDPOINT: e.gcp.iamCredentials,
    KEYHOLD_GCP_CA_PEM: e.tls.caPem,
    KEYHOLD_GCP_VENDOR_TOKEN: GCP_EMULATOR_DEFAULTS.vendorToken,
    KEYHOLD_GCP_VENDOR_PROJECT: GCP_EMULATOR_DEFAULTS.vendorProject,
    KEYHOLD_GCP_MAX_RETRIES: '0',
    KEYHOLD_GCP_TIMEOUT_MS: String(timeoutMs),
  };
}
