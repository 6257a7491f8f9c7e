import { readFileSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { AuditKeys, AuditLog } from '@app/audit';
import { createDataSource } from '@app/persistence';
import { verifySignature } from '@app/siem';
import { privateDatabase } from '../support/db';
import { cleanRedisPrefix, startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { spawnWorker, workerEnv, WorkerProcess } from '../support/worker';
import { TestReceiver, until, webhookEvents } from './receiver';

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/**
 * The real worker process SIGKILLed in the middle of a delivery (a batch on the wire, unacknowledged), then a
 * second worker: nothing lost, order kept, duplicates only of the batch in flight (same dedup ids). The second
 * worker streams a backlog far larger than a batch to a slow receiver while its resident memory is sampled.
 */
describe('SIEM delivery across a worker SIGKILL', () => {
  let db: { url: string; drop(): Promise<void> };
  let stack: TestStack;
  let ds: DataSource;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    db = await privateDatabase();
    stack = await startStack({
      config: { databaseUrl: db.url, logLevel: 'silent' },
      providerEnv: { KEYHOLD_SIEM_ALLOW_LOOPBACK: 'true' },
    });
    ds = createDataSource(db.url, { poolSize: 2, applicationName: 'siem-crash-test' });
    await ds.initialize();
  });

  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await ds?.destroy();
    await stack?.close();
    if (stack) await cleanRedisPrefix(stack);
    await db?.drop();
  });

  it('loses nothing, keeps order, duplicates only the batch in flight; memory stays flat with a slow receiver', async () => {
    const t = await tenantWithAdmin(stack);
    const receiver = await new TestReceiver().start();
    receiver.delayMs = 250;
    const created = await stack.http.post(
      `/v1/tenants/${t.tenant.id}/siem-destinations`,
      { name: 'crash', kind: 'webhook', url: `${receiver.url}/in` },
      t.token,
    );
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    const audit = new AuditLog(ds, new AuditKeys(stack.config.audit));
    const total = 20_000;
    for (let i = 0; i < total; i += 1_000)
      await audit.appendMany(
        t.tenant.id,
        Array.from({ length: 1_000 }, (_, j) => ({
          actor: 'test',
          action: 'test.bulk',
          target: `n:${i + j}`,
          outcome: 'success',
          details: { pad: 'p'.repeat(2_000) },
        })),
      );
    const head = Number((await ds.query(`SELECT seq FROM audit_heads WHERE tenant_id = $1`, [t.tenant.id]))[0].seq);
    const env = workerEnv(stack.config, {
      LOG_LEVEL: 'warn',
      KEYHOLD_SIEM_POLL_MS: '100',
      KEYHOLD_SIEM_BATCH_EVENTS: '200',
      KEYHOLD_SIEM_BATCH_BYTES: String(256 * 1024),
      KEYHOLD_SIEM_BACKOFF_BASE_MS: '100',
      KEYHOLD_SIEM_BACKOFF_CAP_MS: '400',
    });

    const first = spawnWorker(env);
    workers.push(first);
    await first.ready;
    await until(
      'a batch on the wire after some acknowledged',
      () => receiver.requests.length >= 3 && receiver.inFlight > 0,
      60_000,
      10,
    );
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const cursorAtKill = Number(
      (await ds.query(`SELECT cursor_seq FROM siem_destinations WHERE id = $1`, [created.body.destination.id]))[0]
        .cursor_seq,
    );
    expect(cursorAtKill).toBeLessThan(head);

    receiver.delayMs = 60;
    // A bounded old space (128 MB) makes V8 collect instead of growing lazily, so resident memory shows what is
    // retained; a worker holding the backlog (38 MB of rows, several times that as objects) would not even fit.
    const second = spawnWorker({ ...env, NODE_OPTIONS: `--max-old-space-size=128` });
    workers.push(second);
    await second.ready;
    // Memory once the delivery is under way (code loaded, pools and sockets open, first batches through), then its
    // peak over the rest of the backlog: a worker that held the backlog would grow with it.
    const cursor = async () =>
      Number(
        (await ds.query(`SELECT cursor_seq FROM siem_destinations WHERE id = $1`, [created.body.destination.id]))[0]
          .cursor_seq,
      );
    const startCursor = await until(
      'second worker delivering',
      async () => {
        const c = await cursor();
        return c > cursorAtKill + 1_000 ? c : undefined;
      },
      60_000,
      50,
    );
    const baseline = rssMb(second.pid);
    const mid = startCursor + (head - startCursor) / 2;
    const peaks = [baseline, baseline]; // over the first and the second half of the remaining backlog
    let lastCursor = startCursor;
    const sampler = setInterval(() => {
      try {
        const half = lastCursor < mid ? 0 : 1;
        peaks[half] = Math.max(peaks[half], rssMb(second.pid));
      } catch {
        /* exited */
      }
    }, 50);
    const tracker = setInterval(
      () =>
        void cursor().then(
          (c) => (lastCursor = c),
          () => undefined,
        ),
      100,
    );
    await until(
      'caught up after the kill',
      async () =>
        Number(
          (await ds.query(`SELECT cursor_seq FROM siem_destinations WHERE id = $1`, [created.body.destination.id]))[0]
            .cursor_seq,
        ) === head,
      180_000,
      200,
    );
    clearInterval(sampler);
    clearInterval(tracker);
    const peak = Math.max(...peaks);

    const seqs = receiver.records(webhookEvents).map((e) => (e as { seq: number }).seq);
    const firstSeen = seqs.filter((s, i) => seqs.indexOf(s) === i);
    const start = firstSeen[0];
    expect(firstSeen).toEqual(Array.from({ length: head - start + 1 }, (_, i) => start + i)); // nothing lost, in order
    const duplicates = seqs.length - firstSeen.length;
    expect(duplicates).toBeGreaterThan(0); // the batch in flight was sent again...
    expect(duplicates).toBeLessThanOrEqual(200); // ...and only that batch
    for (const r of receiver.requests)
      expect(verifySignature(secret, r.headers['keyhold-signature'] as string, r.body)).toBe(true);
    const backlogMb = ((head - startCursor) * 2_100) / 1024 / 1024;
    const growth = peak - baseline;
    process.stdout.write(
      `siem crash: ${duplicates} duplicate events after SIGKILL; worker RSS ${baseline.toFixed(0)} MB, peak ${peaks[0].toFixed(0)} MB over the first half and ${peaks[1].toFixed(0)} MB over the second half of a ${backlogMb.toFixed(0)} MB backlog\n`,
    );
    // Flat: the second half of the backlog costs no more memory than the first (a worker holding what it delivered
    // would grow by about half the backlog again), and the whole run stays under the backlog's own size.
    expect(peaks[1] - peaks[0]).toBeLessThan(backlogMb / 4);
    expect(growth).toBeLessThan(backlogMb);
    expect(second.output()).not.toContain(secret);
    await receiver.close();
  }, 300_000);
});
