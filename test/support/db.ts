import type { DataSource } from 'typeorm';
import { createDataSource } from '../../libs/persistence/src';
import { createDatabase, type PrivateDatabase } from '../../stack';

/** The migrated test database (prepared once by global-setup). Each test file opens its own pool. */
export const TEST_DATABASE_URL =
  process.env.KEYHOLD_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/keyhold_test';

export async function openTestDataSource(poolSize = 4): Promise<DataSource> {
  const ds = createDataSource(TEST_DATABASE_URL, { poolSize, applicationName: 'keyhold-test' });
  await ds.initialize();
  return ds;
}

/**
 * A test file that runs a worker gets a database of its own: the worker's sweeps (probes, rotation check, reconciler) are
 * platform-wide by design, and must not find other test files' tenants, whose keys live in other emulators.
 */
export function privateDatabase(): Promise<PrivateDatabase> {
  return createDatabase(TEST_DATABASE_URL, 'keyhold_jobs');
}
