import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { lostAuditEvents } from '../lib/audit-accounting';
import type { KeyMaterialLedger } from '../lib/key-material';
import { configEnv, sleep, spawnWorker, WorkerProcess } from '../../stack';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';

/**
 * Faults with nothing lost. A steady stream of DEK fetches (known segments, which must always return the same
 * DEK, and new ones) runs while the suite injects, one after another:
 *  - through the emulator admin API (HTTP), on every AWS operation (AssumeRole, Decrypt, Encrypt…): latency
 *    spikes, throttling, 5xx, hangs, connection resets — with the API's KEK cache cleared so the faults are felt;
 *  - through the process manager: the worker SIGKILLed in the middle of a KEK rotation (another takes over), the
 *    private redis-server SIGKILLed and restarted empty during a second rotation, the private Postgres cluster
 *    restarted (immediate shutdown) when the stack has one, and every Postgres connection of the API and the
 *    worker terminated (pg_terminate_backend, which also works against the machine's shared server).
 * Counted: DEK fetch errors other than the documented ones (503 KMS_UNAVAILABLE + Retry-After while a KMS fault
 * is active; 503 + Retry-After while Postgres or Redis is down; each window with a grace of one KMS timeout), DEKs that changed or no longer come back (lost), operations
 * that never finish, workspaces shredded (false shreds: nothing was revoked) or marked access_suspect.
 */
export interface FaultsOptions {
  segments: number;
  /** How long each KMS fault stays on. */
  faultMs: number;
  concurrency: number;
  rotationBatch: number;
  /** Deadline for every operation to finish once the faults are over. */
  settleMs: number;
}

export interface FaultsResult {
  faultKinds: string[];
  faultInjections: number;
  postgresFault: string;
  dekFetches: number;
  dekFetchErrors: number;
  documentedErrors: number;
  errorsOutsideWindow: number;
  dekMismatches: number;
  lostDeks: number;
  segmentsTracked: number;
  operations: number;
  stuckOperations: number;
  failedOperations: number;
  falseShreds: number;
  falseSuspicions: number;
  /** Actions found without their audit record (every action commits with its record). */
  auditEventsChecked: number;
  auditEventsLost: number;
  workerKilledMidRotation: boolean;
  logs: string[];
  details: string[];
}

/**
 * While Postgres or Redis is down, a 503 with Retry-After (any code) is the right answer for what cannot be
 * served from memory; a 500 is not.
 */
const STORE_FAULTS: ReadonlySet<string> = new Set(['postgres-restart', 'postgres-terminate', 'redis-restart']);

interface Window {
  kind: string;
  start: number;
  end: number;
}

interface Sample {
  start: number;
  end: number;
  status: number;
  code?: string;
  retryAfter: boolean;
  segment: string;
}

/** Concurrent loops of DEK fetches; every answer is recorded and checked against the first DEK seen. */
class DekStream {
  readonly samples: Sample[] = [];
  readonly known = new Map<string, string>();
  private readonly order: string[] = [];
  mismatches = 0;
  private running = true;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly stack: HardeningStack,
    private readonly t: SeededTenant,
    private readonly ledger: KeyMaterialLedger,
    initial: Map<string, string>,
  ) {
    for (const [s, d] of initial) {
      this.known.set(s, d);
      this.order.push(s);
    }
  }

  start(concurrency: number): void {
    this.loops = Array.from({ length: concurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const fresh = Math.random() < 0.2 || this.order.length === 0;
      const segment = fresh
        ? `stream-${randomBytes(6).toString('hex')}`
        : this.order[Math.floor(Math.random() * this.order.length)];
      const start = Date.now();
      let status = 0;
      let code: string | undefined;
      let retryAfter = false;
      try {
        const res = await this.stack.http.request('GET', this.t.dekPath(segment), {
          token: this.t.tokens.service,
          timeoutMs: 15_000,
        });
        status = res.status;
        code = res.body?.error?.code;
        retryAfter = Number(res.headers.get('retry-after')) > 0;
        if (res.status === 200) {
          this.ledger.recordBase64(res.body.dek);
          const seen = this.known.get(segment);
          if (seen === undefined) {
            this.known.set(segment, res.body.dek);
            this.order.push(segment);
          } else if (seen !== res.body.dek) this.mismatches++;
        }
      } catch (err) {
        code = `NO_ANSWER:${(err as Error).name}`;
      }
      this.samples.push({ start, end: Date.now(), status, code, retryAfter, segment });
      // a steady stream, not a load test: leave the event loop room for the API under test (same process)
      await sleep(5);
    }
  }
}

export async function runFaults(
  stack: HardeningStack,
  t: SeededTenant,
  ledger: KeyMaterialLedger,
  opts: FaultsOptions,
): Promise<FaultsResult> {
  if (!stack.redis) throw new Error('the fault section needs the stack started with privateRedis: true');
  const r: FaultsResult = {
    faultKinds: [],
    faultInjections: 0,
    postgresFault: stack.postgres
      ? 'private cluster restarted (immediate shutdown, 1 s down) + pg_terminate_backend of every API and worker connection'
      : `pg_terminate_backend of every API and worker connection only (${stack.postgresNote ?? 'the machine Postgres is shared and is not restarted'})`,
    dekFetches: 0,
    dekFetchErrors: 0,
    documentedErrors: 0,
    errorsOutsideWindow: 0,
    dekMismatches: 0,
    lostDeks: 0,
    segmentsTracked: 0,
    operations: 0,
    auditEventsChecked: 0,
    auditEventsLost: 0,
    stuckOperations: 0,
    failedOperations: 0,
    falseShreds: 0,
    falseSuspicions: 0,
    workerKilledMidRotation: false,
    logs: [],
    details: [],
  };
  const note = (s: string) => {
    if (r.details.length < 60) r.details.push(s);
  };
  const windows: Window[] = [];
  const kinds = new Set<string>();
  const connectAdmin = async () => {
    const c = new Client({ connectionString: stack.db.url, application_name: 'hardening-admin' });
    await c.connect();
    return c;
  };
  let pg = await connectAdmin();
  const workers: WorkerProcess[] = [];
  const env = configEnv(stack.config, { KEYHOLD_KEK_ROTATION_BATCH: String(opts.rotationBatch) });
  const startWorker = async () => {
    const w = spawnWorker(env);
    workers.push(w);
    await w.ready;
    return w;
  };
  const adminUrl = stack.emulators.admin.url;
  const addFault = async (rule: Record<string, unknown>): Promise<string> => {
    const res = await fetch(`${adminUrl}/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(rule),
    });
    if (res.status !== 201)
      throw new Error(`emulator admin refused fault ${JSON.stringify(rule)}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const removeFault = async (id: string) => {
    await fetch(`${adminUrl}/faults/${id}`, { method: 'DELETE' });
  };
  const opRow = async (id: string) =>
    (
      await pg.query(
        `SELECT state, progress_done::int AS done, progress_total::int AS total FROM operations WHERE id = $1`,
        [id],
      )
    ).rows[0] as { state: string; done: number; total: number } | undefined;
  const requestRotation = async (): Promise<string> => {
    for (let i = 0; i < 100; i++) {
      const res = await stack.http.post(
        `${t.base}/workspaces/${t.workspaceId}/operations`,
        { kind: 'kek-rotation' },
        t.tokens.keyAdmin,
      );
      if (res.status === 202) return res.body.operationId as string;
      if (res.status !== 409) throw new Error(`kek-rotation request: ${res.status} ${res.text}`);
      await sleep(200); // the workspace is busy with another operation: wait for it
    }
    throw new Error('the workspace stayed busy for 20 s');
  };
  const waitFor = async (what: string, cond: () => Promise<boolean>, timeoutMs: number, every = 20) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await cond()) return true;
      await sleep(every);
    }
    note(`timed out waiting for ${what}`);
    return false;
  };

  // Known DEKs before anything happens.
  const initial = new Map<string, string>();
  const segs = Array.from({ length: opts.segments }, (_, i) => `seg-${String(i).padStart(6, '0')}`);
  for (let i = 0; i < segs.length; i += 500) {
    const res = await stack.http.post(
      `/internal/v1/workspaces/${t.workspaceId}/deks:batchGet`,
      { segmentIds: segs.slice(i, i + 500) },
      t.tokens.service,
    );
    if (res.status !== 200) throw new Error(`seeding DEKs: ${res.status} ${res.text.slice(0, 200)}`);
    for (const d of res.body.deks) {
      initial.set(d.segmentId, d.dek);
      ledger.recordBase64(d.dek);
    }
  }

  let stream: DekStream | null = null;
  try {
    await startWorker();
    stream = new DekStream(stack, t, ledger, initial);
    stream.start(opts.concurrency);
    await sleep(500);

    // 1. Worker SIGKILL in the middle of a KEK rotation; a new worker takes the operation over.
    {
      const victim = workers[workers.length - 1];
      const op = await requestRotation();
      const start = Date.now();
      const caught = await waitFor(
        'rotation progress before the kill',
        async () => {
          const row = await opRow(op);
          return !!row && row.state === 'running' && row.done > 0 && row.done < row.total;
        },
        20_000,
        5,
      );
      victim.kill('SIGKILL');
      const exit = await victim.exited;
      r.workerKilledMidRotation = caught && exit.signal === 'SIGKILL' && (await opRow(op))?.state === 'running';
      if (!r.workerKilledMidRotation)
        note(
          `worker kill did not land mid-rotation (caught ${caught}, exit ${JSON.stringify(exit)}, op ${JSON.stringify(await opRow(op))})`,
        );
      kinds.add('worker-sigkill-mid-rotation');
      r.faultInjections++;
      await startWorker();
      windows.push({ kind: 'worker-sigkill', start, end: Date.now() });
    }

    // 2. KMS faults through the emulator admin API, one kind at a time, on every AWS operation.
    const kms: Array<[string, Record<string, unknown>]> = [
      ['kms-latency-spike', { cloud: 'aws', kind: 'latency', latencyMs: 1_500, jitterMs: 500 }],
      ['kms-throttle', { cloud: 'aws', kind: 'throttle' }],
      ['kms-5xx', { cloud: 'aws', kind: 'error' }],
      ['kms-hang', { cloud: 'aws', kind: 'hang' }],
      ['kms-connection-reset', { cloud: 'aws', kind: 'reset' }],
      ['kms-flaky-50%-errors', { cloud: 'aws', kind: 'error', rate: 0.5 }],
    ];
    for (const [kind, rule] of kms) {
      const start = Date.now();
      const id = await addFault(rule);
      r.faultInjections++;
      kinds.add(kind);
      // The KEK cache would hide the fault: drop it so fetches need the KMS while the fault is on.
      stack.api.services.kekCache.clear();
      await sleep(opts.faultMs / 2);
      stack.api.services.kekCache.clear();
      await sleep(opts.faultMs / 2);
      await removeFault(id);
      windows.push({ kind, start, end: Date.now() });
      await sleep(300);
    }

    // 3. Redis SIGKILLed and restarted empty in the middle of a second rotation.
    {
      const op = await requestRotation();
      const start = Date.now();
      await waitFor(
        'second rotation to start',
        async () => ((await opRow(op))?.state ?? 'queued') !== 'queued',
        20_000,
        5,
      );
      await stack.redis.restart(1_000);
      r.faultInjections++;
      kinds.add('redis-restart-empty');
      windows.push({ kind: 'redis-restart', start, end: Date.now() });
    }
    await sleep(1_000);

    // 4. Postgres: a real restart of the private cluster (immediate shutdown, 1 s down) when the stack has one,
    //    and every product connection terminated (pg_terminate_backend) — the latter also works on a shared server.
    if (stack.postgres) {
      const start = Date.now();
      await pg.end().catch(() => undefined);
      await stack.postgres.restart(1_000);
      pg = await connectAdmin();
      r.faultInjections++;
      kinds.add('postgres-restart');
      windows.push({ kind: 'postgres-restart', start, end: Date.now() });
      await sleep(1_500);
    }
    {
      const start = Date.now();
      const killed = await pg.query(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name LIKE 'keyhold-%'`,
        [stack.db.name],
      );
      if (killed.rows[0].n === 0) note('pg_terminate_backend found no product connections to terminate');
      r.faultInjections++;
      kinds.add('postgres-connections-terminated');
      windows.push({ kind: 'postgres-terminate', start, end: Date.now() });
      await sleep(1_500);
    }

    // 5. A clean tail: the stream keeps running with no fault at all.
    await sleep(2_000);
  } finally {
    await stream?.stop();
  }

  // Every operation must finish (the reconciler re-enqueues what Redis lost; a new worker takes over stalled jobs).
  await waitFor(
    'every operation to finish',
    async () =>
      (await pg.query(`SELECT count(*)::int AS n FROM operations WHERE state IN ('queued', 'running')`)).rows[0].n ===
      0,
    opts.settleMs,
    200,
  );
  const ops = (await pg.query(`SELECT id, kind, state, error FROM operations`)).rows as Array<{
    id: string;
    kind: string;
    state: string;
    error: string | null;
  }>;
  r.operations = ops.length;
  for (const o of ops) {
    if (o.state === 'queued' || o.state === 'running') {
      r.stuckOperations++;
      note(`operation ${o.kind} ${o.id} never finished (${o.state})`);
    } else if (o.state === 'failed') {
      r.failedOperations++;
      note(`operation ${o.kind} ${o.id} failed: ${String(o.error).slice(0, 160)}`);
    }
  }
  const stuck = ops.filter((o) => o.state === 'queued' || o.state === 'running').map((o) => o.id);
  for (const id of stuck) {
    // The workers' last words about it (ids, states and error messages only: the worker logs no key material).
    const lines = workers
      .flatMap((w) => w.output().split('\n'))
      .filter((l) => l.includes(id) || /"level":(40|50)/.test(l));
    for (const l of lines.slice(-8)) note(`worker log: ${l.slice(0, 300)}`);
  }
  const states = (await pg.query(`SELECT key_state AS s, count(*)::int AS n FROM workspaces GROUP BY key_state`))
    .rows as Array<{ s: string; n: number }>;
  r.falseShreds = states.find((x) => x.s === 'shredded')?.n ?? 0;
  r.falseSuspicions = states.find((x) => x.s === 'access_suspect')?.n ?? 0;
  if (r.falseShreds) note(`${r.falseShreds} workspace(s) shredded although nothing was revoked`);
  const audit = await lostAuditEvents(pg);
  r.auditEventsChecked = audit.checked;
  r.auditEventsLost = audit.lost;
  for (const d of audit.details.slice(0, 10)) note(`audit: ${d}`);

  // The stream's answers.
  const inWindow = (s: Sample, kinds?: ReadonlySet<string>) =>
    windows.some((w) => (!kinds || kinds.has(w.kind)) && s.end >= w.start && s.start <= w.end + 3_000);
  const undocumented = new Map<string, number>();
  for (const s of stream.samples) {
    r.dekFetches++;
    if (s.status === 200) continue;
    r.dekFetchErrors++;
    const documented =
      s.status === 503 && s.retryAfter && (s.code === 'KMS_UNAVAILABLE' ? inWindow(s) : inWindow(s, STORE_FAULTS));
    if (documented) {
      r.documentedErrors++;
      continue;
    }
    r.errorsOutsideWindow++;
    const latest = windows.filter((w) => w.start <= s.end).sort((x, y) => y.start - x.start)[0];
    const key = `${s.status} ${s.code ?? ''}${s.retryAfter ? ' (Retry-After)' : ''} after ${latest?.kind ?? 'no fault'}${latest && inWindow(s) ? ' (in its window)' : ' (outside every window)'}`;
    undocumented.set(key, (undocumented.get(key) ?? 0) + 1);
  }
  for (const [what, n] of undocumented) note(`DEK fetch ${what}: ${n}×`);
  if (r.errorsOutsideWindow) {
    // What the API itself said about the unexpected failures (names and messages only; it logs no key material).
    const reasons = new Set<string>();
    for (const line of stack.logs().split('\n')) {
      if (!line.includes('DEK request failed')) continue;
      try {
        const e = JSON.parse(line).err;
        reasons.add(`${e?.name}: ${e?.message}`.slice(0, 200));
      } catch {
        /* not JSON */
      }
    }
    for (const why of reasons) note(`API logged: ${why}`);
  }
  r.dekMismatches = stream.mismatches;
  if (r.dekMismatches) note(`${r.dekMismatches} fetches returned a different DEK for a known segment`);

  // Nothing lost: every DEK ever handed out comes back, identical, after all of it.
  const all = [...stream.known.entries()];
  r.segmentsTracked = all.length;
  for (let i = 0; i < all.length; i += 500) {
    const chunk = all.slice(i, i + 500);
    const read = () =>
      stack.http.post(
        `/internal/v1/workspaces/${t.workspaceId}/deks:batchGet`,
        { segmentIds: chunk.map(([s]) => s) },
        t.tokens.service,
      );
    let res = await read();
    // A documented 503 (the store or KMS briefly unavailable, with Retry-After) right after the storm is not a lost
    // DEK: ask again for a few seconds. Anything else, a 500 above all, counts every DEK of the chunk as lost.
    for (let tries = 0; res.status === 503 && tries < 10; tries++) {
      await new Promise((done) => setTimeout(done, 500));
      res = await read();
    }
    if (res.status !== 200) {
      r.lostDeks += chunk.length;
      note(`final read of ${chunk.length} DEKs: ${res.status} ${res.text.slice(0, 160)}`);
      for (const line of stack.logs().split('\n'))
        if (line.includes('request failed')) note(`API logged: ${line.slice(0, 300)}`);
      continue;
    }
    const got = new Map<string, string>(
      res.body.deks.map((d: { segmentId: string; dek: string }) => [d.segmentId, d.dek]),
    );
    for (const [s, d] of chunk) if (got.get(s) !== d) r.lostDeks++;
  }
  r.lostDeks += r.dekMismatches;
  if (r.lostDeks) note(`${r.lostDeks} DEK(s) lost or changed`);

  for (const w of workers) {
    w.kill('SIGTERM');
    const done = await Promise.race([w.exited, sleep(10_000).then(() => null)]);
    if (!done) w.kill('SIGKILL');
    r.logs.push(w.output());
  }
  await pg.end();
  r.faultKinds = [...kinds];
  return r;
}
