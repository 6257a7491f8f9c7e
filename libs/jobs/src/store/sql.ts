import type { DataSource, QueryRunner } from 'typeorm';

/**
 * The jobs talk SQL: compare-and-set transitions, row locks and bulk UPDATE … FROM unnest() are the point of
 * these statements, and an ORM would hide exactly what has to be reviewed. One tiny helper gives every statement
 * a structured result (rows and affected count) whatever its kind.
 */
export interface Sql {
  rows<T>(text: string, params?: unknown[]): Promise<T[]>;
  /** Number of rows the statement changed (for UPDATE/DELETE/INSERT without RETURNING). */
  affected(text: string, params?: unknown[]): Promise<number>;
  /** Rows of a statement, for code outside the jobs that takes any `query`-shaped executor (the audit log). */
  query(text: string, params?: unknown[]): Promise<unknown[]>;
}

class RunnerSql implements Sql {
  constructor(private readonly runner: QueryRunner) {}
  async rows<T>(text: string, params: unknown[] = []): Promise<T[]> {
    const r = await this.runner.query(text, params, true);
    return (r.records ?? []) as T[];
  }
  async affected(text: string, params: unknown[] = []): Promise<number> {
    const r = await this.runner.query(text, params, true);
    return r.affected ?? (r.records ?? []).length;
  }
  query(text: string, params: unknown[] = []): Promise<unknown[]> {
    return this.rows(text, params);
  }
}

/** Autocommit statements on a pooled connection. */
export async function withSql<T>(ds: DataSource, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    return await fn(new RunnerSql(runner));
  } finally {
    await runner.release();
  }
}

/** One transaction; rolled back if fn throws. */
export async function inTransaction<T>(ds: DataSource, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    const out = await fn(new RunnerSql(runner));
    await runner.commitTransaction();
    return out;
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw err;
  } finally {
    await runner.release();
  }
}

/**
 * A connection held for the duration of a job with a session-level advisory lock on it. If the worker process
 * dies (SIGKILL, OOM), Postgres closes the session and releases the lock: no lease to expire, no stuck owner.
 * Two workers that both believe they run the same workspace's operation cannot both hold it.
 */
export class HeldLock {
  private constructor(
    private readonly runner: QueryRunner,
    private readonly key: string,
  ) {}

  static async tryAcquire(ds: DataSource, key: string): Promise<HeldLock | null> {
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      const r = await runner.query(`SELECT pg_try_advisory_lock(hashtext('keyhold:jobs'), hashtext($1)) AS ok`, [key]);
      if (r[0]?.ok === true) return new HeldLock(runner, key);
    } catch (err) {
      await runner.release();
      throw err;
    }
    await runner.release();
    return null;
  }

  async release(): Promise<void> {
    try {
      await this.runner.query(`SELECT pg_advisory_unlock(hashtext('keyhold:jobs'), hashtext($1))`, [this.key]);
    } finally {
      await this.runner.release();
    }
  }
}
