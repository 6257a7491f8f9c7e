import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditKeys, AuditLog } from '../../libs/audit/src';
import { createDataSource } from '../../libs/persistence/src';
import { SiemDestinations, verifySignature } from '../../libs/siem/src';
import type { HardeningStack } from '../lib/stack';
import { configEnv, spawnWorker, WorkerProcess } from '../../stack';
import type { SeededTenant } from '../lib/world';

export interface SiemResult {
  eventsExpected: number;
  eventsDeliveredUnique: number;
  /** Records between the destination's start and the tenant's head that the receiver never acknowledged. */
  eventsLost: number;
  duplicates: number;
  /** First deliveries that came after a later record's first delivery. */
  outOfOrder: number;
  badSignatures: number;
  receiverOutageMs: number;
  workerKilledMidDelivery: boolean;
  requests: number;
  refusedRequests: number;
  deliverySeconds: number;
}

/**
 * SIEM streaming under failure (docs/AUDIT.md "Streaming to a SIEM"): a webhook receiver on loopback, a backlog of
 * the tenant's audit records, the receiver down (503) for a while, the worker SIGKILLed with a batch on the wire and
 * a second worker started; then every record between the destination's creation and the head must have reached the
 * receiver, signed, first deliveries in order. The destination is created through the product's use case with the
 * loopback setting the suite's API does not have (the API's own URL checks are the SSRF section's business).
 */
export async function runSiem(
  stack: HardeningStack,
  t: SeededTenant,
  opts: { events: number; outageMs: number },
): Promise<SiemResult> {
  const ds = createDataSource(stack.config.databaseUrl, { poolSize: 2, applicationName: 'hardening-siem' });
  await ds.initialize();
  const received: Array<{ body: Buffer; signature: string; status: number }> = [];
  let status = 200;
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = status;
      received.push({
        body: Buffer.concat(chunks),
        signature: String(req.headers['keyhold-signature'] ?? ''),
        status: answer,
      });
      inFlight++;
      setTimeout(() => {
        inFlight--;
        res.writeHead(answer).end();
      }, 40);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keyhold`;
  const workers: WorkerProcess[] = [];
  const env = configEnv(stack.config, {
    LOG_LEVEL: 'warn',
    KEYHOLD_SIEM_ALLOW_LOOPBACK: 'true',
    KEYHOLD_SIEM_POLL_MS: '100',
    KEYHOLD_SIEM_BATCH_EVENTS: '100',
    KEYHOLD_SIEM_BACKOFF_BASE_MS: '100',
    KEYHOLD_SIEM_BACKOFF_CAP_MS: '500',
    KEYHOLD_SIEM_MAX_FAILURES: '1000',
  });
  try {
    const audit = new AuditLog(ds, new AuditKeys(stack.config.audit));
    const siem = new SiemDestinations(ds, audit, { allowLoopback: true }, stack.config.audit.hmacKey);
    const { destination, secret } = await siem.create('hardening', t.id, {
      name: `siem-${Date.now()}`,
      kind: 'webhook',
      format: 'native',
      url,
    });
    const start = destination.cursorSeq;
    const cursor = async () =>
      Number(
        (await ds.query(`SELECT cursor_seq FROM siem_destinations WHERE id = $1`, [destination.id]))[0].cursor_seq,
      );
    const append = (n: number) =>
      audit.appendMany(
        t.id,
        Array.from({ length: n }, (_, i) => ({
          actor: 'hardening',
          action: 'hardening.siem',
          target: `n:${i}`,
          outcome: 'success',
          details: { i },
        })),
      );
    const third = Math.ceil(opts.events / 3);
    await append(third);

    const t0 = Date.now();
    const first = spawnWorker(env);
    workers.push(first);
    await first.ready;
    // Receiver outage while records keep coming.
    await waitFor(() => received.length >= 2, 60_000);
    status = 503;
    const outageStart = Date.now();
    await append(third);
    await new Promise((r) => setTimeout(r, opts.outageMs));
    status = 200;
    const receiverOutageMs = Date.now() - outageStart;
    // SIGKILL with a batch on the wire (received, not yet answered).
    await append(opts.events - 2 * third);
    await waitFor(() => inFlight > 0, 60_000, 5);
    first.kill('SIGKILL');
    const killed = await first.exited;
    const second = spawnWorker(env);
    workers.push(second);
    await second.ready;
    const head = Number((await ds.query(`SELECT seq FROM audit_heads WHERE tenant_id = $1`, [t.id]))[0].seq);
    await waitFor(async () => (await cursor()) >= head, 180_000, 200);
    const deliverySeconds = (Date.now() - t0) / 1000;

    const seqs: number[] = [];
    let badSignatures = 0;
    for (const r of received) {
      if (!verifySignature(secret!, r.signature, r.body)) badSignatures++;
      // What the receiver refused (503) was not delivered: only acknowledged batches count, duplicates included.
      if (r.status !== 200) continue;
      for (const e of (JSON.parse(r.body.toString('utf8')) as { events: Array<{ seq: number }> }).events)
        seqs.push(e.seq);
    }
    const seen = new Set<number>();
    let outOfOrder = 0;
    let last = 0;
    for (const s of seqs) {
      if (seen.has(s)) continue;
      if (s < last) outOfOrder++;
      last = s;
      seen.add(s);
    }
    let lost = 0;
    for (let s = start + 1; s <= head; s++) if (!seen.has(s)) lost++;
    return {
      eventsExpected: head - start,
      eventsDeliveredUnique: seen.size,
      eventsLost: lost,
      duplicates: seqs.length - seen.size,
      outOfOrder,
      badSignatures,
      receiverOutageMs,
      workerKilledMidDelivery: killed.signal === 'SIGKILL',
      requests: received.length,
      refusedRequests: received.filter((r) => r.status !== 200).length,
      deliverySeconds,
    };
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await ds.destroy();
  }
}

async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
