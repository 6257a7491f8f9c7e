import type { KeyholdConfigInput } from '../../libs/config/src';
import { startStack, type PrivateDatabase, type Stack } from '../../stack';
import { DbInspector } from './database';

/**
 * The product under test, in this process (the shared stack builder, stack/): the three cloud emulators, the API
 * against a private, freshly migrated database and (optionally) a private redis-server and Postgres cluster that a
 * section can restart, with its logs captured in memory so the suite can prove nothing secret was written.
 */
export interface HardeningStack extends Stack {
  db: PrivateDatabase;
  inspector: DbInspector;
  /** Clouds whose provider binding the API could build (others answer PROVIDER_NOT_CONFIGURED). */
  configuredProviders: string[];
}

export interface HardeningStackOptions {
  /** Run a private redis-server (needed to restart Redis under the product). Default: the shared Redis, own prefix. */
  privateRedis?: boolean;
  /** Run a private Postgres cluster (initdb on a random port) so Postgres itself can be restarted. */
  privatePostgres?: boolean;
  config?: KeyholdConfigInput;
}

/** The Postgres server the private database is created on when there is no private cluster. */
export const SERVER_URL = process.env.KEYHOLD_HARDENING_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function startHardeningStack(options: HardeningStackOptions = {}): Promise<HardeningStack> {
  const stack = await startStack({
    databaseUrl: SERVER_URL,
    privateDatabase: 'keyhold_hardening',
    privateRedis: options.privateRedis,
    privatePostgres: options.privatePostgres,
    redisPrefix: 'khhard',
    // a hung KMS must turn into a 503 within the fault window
    providerTimeoutMs: 2_000,
    // The fuzzer and the matrix talk to the token endpoint from one IP: keep the per-IP limit out of their way
    // (the brute-force check exercises the per-account limit, which keeps its production default).
    config: { tokenRatePerIpPerMinute: 100_000, ...options.config },
  });
  const unavailable = new Set([...stack.api.services.registry.unavailable].map(([kind]) => String(kind)));
  return {
    ...stack,
    db: stack.db!,
    inspector: new DbInspector((sql, params) => stack.api.services.ds.query(sql, params)),
    configuredProviders: ['aws', 'azure', 'gcp'].filter((p) => !unavailable.has(p)),
  };
}
