import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AuditKeys, AuditLog } from '../../libs/audit/src';
import { createDataSource } from '../../libs/persistence/src';
import { SiemDestinations } from '../../libs/siem/src';
import { ENV } from '../lib/env';
import { freePort, sleep } from '../../stack';
import { readProcMemory } from '../lib/procs';
import { round } from '../lib/stats';
import { startWorkerChild } from '../lib/stack';
import type { BenchContext, World } from './context';

export interface SiemResult {
  siem: {
    events: number;
    seconds: number;
    events_per_s: number;
    requests: number;
    batch_events: number;
    worker_peak_rss_mb: number;
  };
}

/**
 * SIEM delivery throughput: a backlog of N audit records of the seeded tenant streamed by one worker (default
 * settings: 500 events or 1 MiB per POST, OCSF fields, signed) to a webhook receiver on loopback that answers at
 * once. Events/s from the first POST to the cursor reaching the head, and the worker's peak RSS.
 */
export async function siem(ctx: BenchContext, world: World): Promise<SiemResult> {
  const events = ctx.mode.name === 'quick' ? 20_000 : 100_000;
  const env = ctx.env();
  const ds = createDataSource(String(env.DATABASE_URL), { poolSize: 2, applicationName: 'bench-siem' });
  await ds.initialize();
  let requests = 0;
  let firstAt = 0;
  const server = createServer((req, res) => {
    firstAt ||= performance.now();
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keyhold`;
  try {
    const audit = new AuditLog(
      ds,
      new AuditKeys({
        hmacKey: String(env.KEYHOLD_AUDIT_HMAC_KEY),
        signingKey: String(env.KEYHOLD_AUDIT_SIGNING_KEY),
        previousPublicKeys: '',
      }),
    );
    const { destination } = await new SiemDestinations(
      ds,
      audit,
      { allowLoopback: true },
      String(env.KEYHOLD_AUDIT_HMAC_KEY),
    ).create('bench', world.tenantId, {
      name: `bench-siem-${Date.now()}`,
      kind: 'webhook',
      format: 'ocsf',
      url,
    });
    for (let i = 0; i < events; i += 1_000)
      await audit.appendMany(
        world.tenantId,
        Array.from({ length: Math.min(1_000, events - i) }, (_, j) => ({
          actor: 'service_principal:bench',
          action: 'dek.issued',
          target: `workspace:${world.fetchWorkspaces[0]}`,
          outcome: 'success',
          details: { count: i + j, segment: `s-${i + j}` },
        })),
      );
    const head = Number((await ds.query(`SELECT seq FROM audit_heads WHERE tenant_id = $1`, [world.tenantId]))[0].seq);
    const expected = head - destination.cursorSeq;
    const port = await freePort();
    const t0 = performance.now();
    const worker = await startWorkerChild(
      ctx.paths,
      'worker-siem',
      ctx.env({
        [ENV.workerMetricsPort]: String(port),
        // The receiver can only be on this machine, and every local address is internal: this one worker runs in test
        // mode, the only mode that accepts the loopback setting (production refuses it at start-up).
        KEYHOLD_MODE: 'test',
        KEYHOLD_SIEM_ALLOW_LOOPBACK: 'true',
        KEYHOLD_SIEM_POLL_MS: '100',
      }),
    );
    try {
      for (;;) {
        const c = Number(
          (await ds.query(`SELECT cursor_seq FROM siem_destinations WHERE id = $1`, [destination.id]))[0].cursor_seq,
        );
        if (c >= head) break;
        if (performance.now() - t0 > 10 * 60_000)
          throw new Error(`SIEM delivery not finished after 10 min (cursor ${c} of ${head})`);
        await sleep(50);
      }
      // From the first POST (the worker's start-up is not delivery) to the cursor at the head.
      const seconds = (performance.now() - firstAt) / 1000;
      return {
        siem: {
          events: expected,
          seconds: round(seconds, 2),
          events_per_s: Math.round(expected / seconds),
          requests,
          batch_events: 500,
          worker_peak_rss_mb: round(readProcMemory(worker.pid).peakRssBytes / 2 ** 20, 1),
        },
      };
    } finally {
      await worker.stop();
    }
  } finally {
    server.closeAllConnections();
    server.close();
    await ds.destroy();
  }
}
