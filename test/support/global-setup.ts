import { Client } from 'pg';
import { createDataSource, runMigrations } from '../../libs/persistence/src';

export const TEST_DATABASE_URL = process.env.KEYHOLD_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/keyhold_test';

/** Runs once before all test files: a fresh `keyhold_test` database, migrated once. Tests isolate by tenant. */
export default async function globalSetup(): Promise<void> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.METADATA_SERVER_DETECTION = 'none';
  const url = new URL(TEST_DATABASE_URL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const ds = createDataSource(TEST_DATABASE_URL, { poolSize: 1, applicationName: 'keyhold-test-setup' });
  await ds.initialize();
  try {
    await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}
