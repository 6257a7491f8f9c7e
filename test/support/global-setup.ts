/** Runs once before all test files. Database preparation is added by the control-plane tests' setup. */
export default async function globalSetup(): Promise<void> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.METADATA_SERVER_DETECTION = 'none';
}
