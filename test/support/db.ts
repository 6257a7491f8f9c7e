import type { DataSource } from 'typeorm';
import { createDataSource } from '../../libs/persistence/src';

/** The migrated test database (prepared once by global-setup). Each test file opens its own pool. */
export const TEST_DATABASE_URL = process.env.KEYHOLD_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/keyhold_test';

export async function openTestDataSource(poolSize = 4): Promise<DataSource> {
  const ds = createDataSource(TEST_DATABASE_URL, { poolSize, applicationName: 'keyhold-test' });
  await ds.initialize();
  return ds;
}
