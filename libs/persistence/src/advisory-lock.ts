import type { DataSource, QueryRunner } from 'typeorm';

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
      const r = (await runner.query(`SELECT pg_try_advisory_lock(hashtext('keyhold:jobs'), hashtext($1)) AS ok`, [
        key,
      ])) as Array<{ ok: boolean }>;
      if (r[0]?.ok) return new HeldLock(runner, key);
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
