import { Client } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

/**
 * The one DataSource definition (API, worker, CLI, tests). No entities are synchronised: the schema is owned by
 * the reviewed migration classes in migrations/ (synchronize: false, migrationsRun: false).
 */
export function createDataSource(
  url: string,
  options: { poolSize?: number; applicationName?: string } = {},
): DataSource {
  return new DataSource(dataSourceOptions(url, options));
}

/** The settings of every Keyhold DataSource (the Nest roots hand them to TypeOrmModule; the CLI and tests use createDataSource). */
export function dataSourceOptions(
  url: string,
  options: { poolSize?: number; applicationName?: string } = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'keyhold_migrations',
    logging: false,
    extra: { max: options.poolSize ?? 10, application_name: options.applicationName ?? 'keyhold' },
  };
}

/** Creates the database if needed and applies pending migrations over a one-connection DataSource (local mode, CLI). */
export async function migrateDatabase(url: string): Promise<string[]> {
  await ensureDatabase(url);
  const ds = createDataSource(url, { poolSize: 1, applicationName: 'keyhold-migrate' });
  await ds.initialize();
  try {
    return await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}

/** Creates the database named in `url` if it does not exist (connects to the `postgres` maintenance database). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name))
    throw new Error(`DATABASE_URL names database "${name}", which is not a plain identifier`);
  target.pathname = '/postgres';
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } catch (err) {
      // another process created it between our check and our CREATE
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Applies pending migrations, each in its own transaction. Returns the names applied. */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const applied = await ds.runMigrations({ transaction: 'each' });
  return applied.map((m) => m.name);
}
