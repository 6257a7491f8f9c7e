import { loadConfig } from '@app/config';
import { migrateDatabase } from '@app/persistence';
import { startTracing } from '@app/telemetry';
import { createApiApp } from './app';

/**
 * The API process. In local mode it creates and migrates the database if needed and prints the operator token
 * (generated once into .keyhold/ when not set). SIGTERM/SIGINT close HTTP, queues and pools gracefully.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set; started before anything that makes spans.
  const tracing = startTracing({ serviceName: 'keyhold-api' });
  if (config.mode === 'local') await migrateDatabase(config.databaseUrl);
  const api = await createApiApp(config);
  if (config.mode === 'local') {
    process.stdout.write(
      `\nKeyhold API listening on ${api.url} (internal listener: ${api.internalUrl})\nOperator token (local mode, kept in .keyhold/secrets.json): ${config.localOperatorToken ?? 'as configured'}\n\n`,
    );
  } else {
    process.stdout.write(`Keyhold API listening on ${api.url} (internal listener: ${api.internalUrl})\n`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`received ${signal}, shutting down\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    api.close().then(
      () => tracing.shutdown().finally(() => process.exit(0)),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`keyhold-api failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
