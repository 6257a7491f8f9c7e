import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DisableKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { OperationKind } from '@app/jobs';
import { BindWorkspace } from '@app/keys';
import { createDataSource, createRepositories } from '@app/persistence';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { expectShredded } from '../jobs/assertions';
import { AwsTenant, JobsHarness, startJobsHarness } from '../jobs/harness';

/**
 * Restore drill: Postgres is dumped (pg_dump) before each kind of key change — a KEK rotation, a CMK rewrap, a re-key
 * and a shred — and each dump is restored (pg_restore) into a fresh database, read by a fresh DEK service (a replica
 * with a cold cache, as after a restore). The rules this proves are the ones docs/OPERATIONS.md states:
 *  - while the customer's keys work, nothing readable at dump time becomes unreadable after a restore (the DEKs are
 *    byte for byte the ones issued before), provided old CMK versions are kept (AWS keeps them after rotation);
 *  - a workspace shredded after the dump serves no DEK from the restored database while its customer key stays revoked;
 *  - a dump taken before a re-key opens under the old CMK for as long as that CMK works: backups are as sensitive as
 *    every CMK the workspace used during their retention, and disabling that CMK closes them too.
 */
let h: JobsHarness;
let worker: RunningWorker;
let dir: string;
const restored: Array<{ ds: DataSource; name: string }> = [];

beforeAll(async () => {
  h = await startJobsHarness();
  worker = await startTestWorker(h.config);
  dir = mkdtempSync(join(tmpdir(), 'keyhold-restore-'));
});
afterAll(async () => {
  for (const r of restored) await r.ds.destroy().catch(() => undefined);
  await worker?.close();
  const admin = adminClient();
  await admin.connect();
  for (const r of restored)
    await admin.query(`DROP DATABASE IF EXISTS "${r.name}" WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

function adminClient(): Client {
  const url = new URL(h.config.databaseUrl);
  url.pathname = '/postgres';
  return new Client({ connectionString: url.toString() });
}

function dump(label: string): string {
  const file = join(dir, `${label}.dump`);
  execFileSync('pg_dump', ['--format=custom', '--no-owner', '--file', file, h.config.databaseUrl], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return file;
}

/** Restores a dump into a new database and returns a cold DEK service over it (a replica after the restore). */
async function restore(file: string) {
  const name = `keyhold_restore_${randomBytes(4).toString('hex')}`;
  const admin = adminClient();
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(h.config.databaseUrl);
  url.pathname = `/${name}`;
  execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', url.toString(), file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ds = createDataSource(url.toString(), { poolSize: 2, applicationName: 'keyhold-restore-drill' });
  await ds.initialize();
  restored.push({ ds, name });
  return h.dekService(createRepositories(ds)).service;
}

async function succeeded(t: AwsTenant, operationId: string) {
  const op = await h.waitForOperation(t.tenantId, operationId, 30_000);
  expect(op).toMatchObject({ state: 'succeeded' });
}

it('restores dumps taken before a KEK rotation, a CMK rewrap, a re-key and a shred without losing a DEK or resurrecting a shredded workspace', async () => {
  const t = await h.awsTenant({ workspaces: 1 });
  const ws = t.workspaceIds[0];
  const segments = Array.from({ length: 25 }, (_, i) => `restore-${i}`);
  const issued = await h.fetchDeks(t, ws, segments);
  const dumps: Record<string, string> = {};

  dumps.beforeKekRotation = dump('before-kek-rotation');
  await succeeded(t, await h.request(t.tenantId, ws, OperationKind.KekRotation));

  dumps.beforeCmkRewrap = dump('before-cmk-rewrap');
  await h.kms.send(new RotateKeyOnDemandCommand({ KeyId: t.keyArn }));
  await succeeded(t, await h.request(t.tenantId, ws, OperationKind.CmkRewrap));

  dumps.beforeRekey = dump('before-rekey');
  const second = await t.addKey();
  const bound = await new BindWorkspace(h.deps).execute({
    actor: 'admin:test',
    tenantId: t.tenantId,
    workspaceId: ws,
    keyConfigurationId: second.keyConfigurationId,
  });
  if (bound.kind !== 'rekey') throw new Error('expected a re-key operation');
  await succeeded(t, bound.operationId);

  dumps.beforeShred = dump('before-shred');

  // While every key the workspace used still works, every restored database serves exactly the DEKs issued before.
  for (const [label, file] of Object.entries(dumps)) {
    const service = await restore(file);
    const again = await h.fetchDeks(t, ws, segments, service);
    expect({ label, same: segments.every((s) => again.get(s) === issued.get(s)) }).toEqual({ label, same: true });
  }

  // The customer revokes the key the workspace is bound to: the workspace is shredded.
  await h.kms.send(new DisableKeyCommand({ KeyId: second.keyArn }));
  await expectShredded(h, t);

  // The dump from just before the shred (workspace active, KEK wrapped under the revoked key) serves nothing.
  const preShred = await restore(dumps.beforeShred);
  await expect(h.fetchDeks(t, ws, segments.slice(0, 1), preShred)).rejects.toMatchObject({
    code: expect.stringMatching(/^KMS_(REFUSED|UNAVAILABLE)$/),
  });

  // A dump from before the re-key holds the KEK under the first key: it opens only while that key works.
  await h.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
  const preRekey = await restore(dumps.beforeRekey);
  await expect(h.fetchDeks(t, ws, segments.slice(0, 1), preRekey)).rejects.toMatchObject({
    code: expect.stringMatching(/^KMS_(REFUSED|UNAVAILABLE)$/),
  });
});
