import { readFileSync } from 'node:fs';
import { KeyholdClient } from '@keyhold/client';
import { startRecordsService } from './records-service';

/**
 * `node dist/examples/records-service/src/main.js` with KEYHOLD_URL (Keyhold's internal listener, e.g.
 * http://127.0.0.1:3001), KEYHOLD_CLIENT_ID, KEYHOLD_CLIENT_SECRET, DATABASE_URL, PORT; for mutual TLS also
 * KEYHOLD_CLIENT_CERT_FILE, KEYHOLD_CLIENT_KEY_FILE and KEYHOLD_CA_FILE (PEM files).
 */
async function main(): Promise<void> {
  const env = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is required`);
    return v;
  };
  const file = (k: string) => (process.env[k] ? readFileSync(process.env[k]) : undefined);
  const cert = file('KEYHOLD_CLIENT_CERT_FILE');
  const key = file('KEYHOLD_CLIENT_KEY_FILE');
  const tls = cert && key ? { cert, key, ca: file('KEYHOLD_CA_FILE') } : undefined;
  const keyhold = new KeyholdClient({
    baseUrl: env('KEYHOLD_URL'),
    clientId: env('KEYHOLD_CLIENT_ID'),
    clientSecret: env('KEYHOLD_CLIENT_SECRET'),
    tls,
  });
  const svc = await startRecordsService({
    databaseUrl: env('DATABASE_URL'),
    keyhold,
    port: Number(process.env.PORT ?? 8080),
    host: process.env.HOST ?? '127.0.0.1',
  });
  console.log(`records service on ${svc.url}`);
  const stop = () => void svc.close().then(() => keyhold.close());
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
