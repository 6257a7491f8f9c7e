import { recreateDatabase } from '../../stack/database';

export const TEST_DATABASE_URL =
  process.env.KEYHOLD_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/keyhold_test';

/** Runs once before all test files: a fresh `keyhold_test` database, migrated once. Tests isolate by tenant. */
export default async function globalSetup(): Promise<void> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.METADATA_SERVER_DETECTION = 'none';
  await recreateDatabase(TEST_DATABASE_URL);
}
