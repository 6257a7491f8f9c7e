import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, ensureDatabase, runMigrations } from '../../libs/persistence/src';

/** The migrated test database (prepared once by global-setup). Each test file opens its own pool. */
export const TEST_DATABASE_URL = process.env.KEYHOLD_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/keyhold_test';

export async function openTestDataSource(poolSize = 4): Promise<DataSource> {
  const ds = createDataSource(TEST_DATABASE_URL, { poolSize, applicationName: 'keyhold-test' });
  await ds.initialize();
  return ds;
}

/**
 * A test file that runs a worker gets a database of its own: the worker's sweeps (probes, rotation check, reconciler) are
 * platform-wide by design, and must not find other test files' tenants, whose keys live in other emulators.
 */
export async function privateDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/keyhold_jobs_${randomBytes(5).toString('hex')}`;
  await ensureDatabase(url.toString());
  const ds = createDataSource(url.toString(), { poolSize: 1, applicationName: 'keyhold-jobs-migrate' });
  await ds.initialize();
  try {
    await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
  return {
    url: url.toString(),
    async drop() {
      const admin = new URL(url.toString());
      const name = admin.pathname.slice(1);
      admin.pathname = '/postgres';
      const c = new Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
