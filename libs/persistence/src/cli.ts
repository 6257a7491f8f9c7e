import { createDataSource, ensureDatabase, runMigrations } from './data-source';

/** `node dist/libs/persistence/src/cli.js migrate|revert` — the one migration entry point (CI, Docker, benchmarks). */
async function main(): Promise<void> {
  const cmd = process.argv[2] ?? 'migrate';
  const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/keyhold';
  if (cmd !== 'migrate' && cmd !== 'revert') throw new Error(`unknown command "${cmd}" (use migrate or revert)`);
  if (cmd === 'migrate' && (await ensureDatabase(url))) console.log('created database');
  const ds = createDataSource(url, { poolSize: 1, applicationName: 'keyhold-migrate' });
  await ds.initialize();
  try {
    if (cmd === 'migrate') {
      const applied = await runMigrations(ds);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
    } else {
      await ds.undoLastMigration({ transaction: 'each' });
      console.log('reverted the last migration');
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(`migration failed: ${(err as Error).message}`);
  process.exit(1);
});
