import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../libs/persistence/src';

/**
 * Databases of a harness run, on a Postgres server the caller names: created fresh and migrated, dropped afterwards.
 * A run that has a worker needs one of its own: the worker's sweeps (probes, rotation check, reconciler) are
 * platform-wide by design and must not find another run's tenants, whose keys live in other emulators.
 */
export interface PrivateDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new database `<prefix>_<random>` on the server of `serverUrl` (any database URL of that server), migrated. */
export async function createDatabase(serverUrl: string, prefix: string): Promise<PrivateDatabase> {
  const url = new URL(serverUrl);
  url.pathname = `/${prefix}_${randomBytes(5).toString('hex')}`;
  return recreateDatabase(url.toString());
}

/** Drops and creates the database `url` names (every run starts from the same empty state), then migrates it. */
export async function recreateDatabase(url: string): Promise<PrivateDatabase> {
  const name = databaseName(url);
  await onServer(url, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  await migrateDatabase(url);
  return { url, name, drop: () => dropDatabase(url) };
}

export async function migrateDatabase(url: string): Promise<string[]> {
  const ds = createDataSource(url, { poolSize: 1, applicationName: 'keyhold-harness-migrate' });
  await ds.initialize();
  try {
    return await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await onServer(url, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`database name "${name}" must be a plain identifier`);
  return name;
}

/** Runs `fn` on the server's maintenance database (`postgres`). */
async function onServer<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
