import type { RunningWorker } from '../../apps/worker/src/worker';
import { startRecordsService, RecordsService } from '../../examples/records-service/src/records-service';
import { privateDatabase } from '../support/db';
import { HttpClient, startStack, TestStack } from '../support/stack';
import { startTestWorker } from '../support/worker';
import { cleanRedis, revokeAndShred, serviceTenant, ServiceTenant, waitFor } from '../client/fixture';
import type { KeyholdClient } from '../../packages/client/src';

/**
 * examples/records-service end to end: a real Keyhold (API + worker + AWS emulator), the example service on its
 * own schema in Postgres, records written and read over HTTP, and the customer's revocation turning every
 * record of the workspace into a clear 410.
 */
let stack: TestStack;
let worker: RunningWorker;
let t: ServiceTenant;
let keyhold: KeyholdClient;
let svc: RecordsService;
let http: HttpClient;
const schema = `records_example_${process.pid}`;

let db: Awaited<ReturnType<typeof privateDatabase>>;

beforeAll(async () => {
  // A database of its own: the worker's probes are platform-wide, and the positive control would count other test
  // files' revoked keys as a mass revocation and hold this one.
  db = await privateDatabase();
  stack = await startStack({
    config: { databaseUrl: db.url, probeConfirmationWindowSeconds: 2, probeConfirmations: 3, logLevel: 'info' },
  });
  worker = await startTestWorker(
    { ...stack.config, logLevel: 'silent' },
    { schedulers: false, settings: { reconcileStaleMs: 3_600_000 } },
  );
  t = await serviceTenant(stack, 2);
  keyhold = t.client();
  await keyhold.ready();
  svc = await startRecordsService({ databaseUrl: db.url, keyhold, schema });
  http = new HttpClient(svc.url);
});
afterAll(async () => {
  await svc?.pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await svc?.close();
  await keyhold?.close();
  await worker?.close();
  await stack?.close();
  if (stack) await cleanRedis(stack);
  await db?.drop();
});

it('stores records encrypted, reads them back, refuses moved ciphertext, and answers 410 once the customer revokes', async () => {
  const secret = 'patient 1234: allergic to penicillin';
  const created = await http.post(`/workspaces/${t.wsId}/records`, { data: secret });
  expect(created.status).toBe(201);
  const second = await http.post(`/workspaces/${t.wsId}/records`, { data: 'another' });
  expect((await http.get(`/workspaces/${t.wsId}/records/${created.body.id}`)).body).toEqual({
    id: created.body.id,
    data: secret,
  });

  // Postgres holds only the envelope
  const row = await svc.pool.query<{ ciphertext: Buffer }>(`SELECT ciphertext FROM ${schema}.records WHERE id = $1`, [
    created.body.id,
  ]);
  expect(row.rows[0].ciphertext.subarray(0, 4).toString('ascii')).toBe('KHEV');
  expect(row.rows[0].ciphertext.includes(Buffer.from('penicillin'))).toBe(false);

  // a ciphertext copied into another row does not open there (the AAD names the row)
  await svc.pool.query(`UPDATE ${schema}.records SET ciphertext = $1 WHERE id = $2`, [
    row.rows[0].ciphertext,
    second.body.id,
  ]);
  const moved = await http.get(`/workspaces/${t.wsId}/records/${second.body.id}`);
  expect(moved.status).toBe(422);
  expect(moved.body.error.code).toBe('RECORD_CORRUPT');

  expect((await http.get(`/workspaces/${t.wsId}/records/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  expect((await http.post(`/workspaces/${t.wsId}/records`, { nope: 1 })).status).toBe(400);

  // The customer disables their key; Keyhold confirms and shreds; the service's records become unreadable.
  await revokeAndShred(stack, t);
  await waitFor(async () => (await http.get(`/workspaces/${t.wsId}/records/${created.body.id}`)).status === 410, 2_000);
  const gone = await http.get(`/workspaces/${t.wsId}/records/${created.body.id}`);
  expect(gone.body.error.code).toBe('RECORD_UNREADABLE');
  expect(gone.body.error.message).toMatch(/can no longer be decrypted/);
  expect(gone.text).not.toContain('penicillin');
  // and no new record can be written to the workspace either
  expect((await http.post(`/workspaces/${t.wsId}/records`, { data: 'x' })).status).toBe(410);
}, 60_000);
