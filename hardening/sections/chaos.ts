import { randomBytes } from 'node:crypto';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import Redis from 'ioredis';
import { Client } from 'pg';
import { AWS_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/aws';
import { mulberry32 } from '../../apps/kms-emulator/src/core/propagation';
import { lostAuditEvents } from '../lib/audit-accounting';
import { ApiProcess, configEnv, freePort, HttpClient, sleep, spawnWorker, WorkerProcess } from '../../stack';
import { haproxyVersion, LocalHaproxy } from '../lib/haproxy';
import { startHardeningStack } from '../lib/stack';
import { createAwsVendorCanary } from '../lib/vendor-canary';
import { seedTenant } from '../lib/world';

/**
 * Chaos soak: the product as it is deployed (two API processes behind a local HAProxy, two workers, a private Postgres
 * cluster and redis-server, the vendor's own canary configured) under a randomized stream of faults of every kind the
 * suite can produce, while DEK traffic, KEK rotations and access probes run, and one customer really revokes half way
 * through. Each fault is held for a random time and lifted; the schedule is seeded (reproducible) and goes through every
 * kind once before repeating any.
 *
 * Counted: DEK fetch errors outside every fault's window (+ a grace of one KMS timeout), DEKs lost or changed,
 * operations that never finish, workspaces shredded although their customer revoked nothing, the real revocation
 * missed (and how long it took), actions without their audit record.
 */
export interface ChaosOptions {
  seconds: number;
  faultMs: [number, number];
  gapMs: [number, number];
  workspaces: number;
  segmentsPerWorkspace: number;
  concurrency: number;
  settleMs: number;
  seed: number;
}

export interface ChaosResult {
  balancer: string;
  apiReplicas: number;
  workers: number;
  seconds: number;
  faultInjections: number;
  faultKinds: string[];
  injectionsByKind: Record<string, number>;
  dekFetches: number;
  dekFetchErrors: number;
  errorsInWindows: number;
  errorsOutsideWindow: number;
  lostDeks: number;
  operations: number;
  stuckOperations: number;
  falseShreds: number;
  revocationsMissed: number;
  revocationSeconds: number | null;
  auditEventsLost: number;
  details: string[];
}

interface Window {
  kind: string;
  start: number;
  end: number;
}

/** After a fault is lifted, answers may still carry it for one KMS timeout (2 s in the suite) plus a probe. */
const GRACE_MS = 5_000;
const DENY_ASSUME = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'sts:AssumeRole', Resource: '*' }] };

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const version = haproxyVersion();
  if (!version)
    throw new Error(
      'haproxy is not installed (Debian: apt-get install haproxy); the fleet run needs a real load balancer',
    );
  const stack = await startHardeningStack({
    privateRedis: true,
    privatePostgres: true,
    config: {
      probeIntervalSeconds: 2,
      probeConfirmationWindowSeconds: 8,
      probeConfirmations: 3,
      kekCachePollIntervalMs: 1_000,
    },
  });
  const r: ChaosResult = {
    balancer: `haproxy ${version}`,
    apiReplicas: 2,
    workers: 2,
    seconds: opts.seconds,
    faultInjections: 0,
    faultKinds: [],
    injectionsByKind: {},
    dekFetches: 0,
    dekFetchErrors: 0,
    errorsInWindows: 0,
    errorsOutsideWindow: 0,
    lostDeks: 0,
    operations: 0,
    stuckOperations: 0,
    falseShreds: 0,
    revocationsMissed: 0,
    revocationSeconds: null,
    auditEventsLost: 0,
    details: [],
  };
  const note = (s: string) => r.details.length < 60 && r.details.push(s);
  const random = mulberry32(opts.seed);
  const between = ([lo, hi]: [number, number]) => lo + Math.floor(random() * (hi - lo));
  const clients: Array<{ destroy(): void }> = [];
  const apis: ApiProcess[] = [];
  const workers: WorkerProcess[] = [];
  let lb: LocalHaproxy | null = null;
  let pg: Client | null = null;
  try {
    const canaryEnv = await createAwsVendorCanary(stack.emulators.aws.url, clients);
    const env = configEnv(stack.config, {
      ...canaryEnv,
      KEYHOLD_TOKEN_RATE_PER_IP_PER_MINUTE: '100000',
      KEYHOLD_KEK_CACHE_POLL_INTERVAL_MS: '1000',
      LOG_LEVEL: 'warn',
    });
    const startWorker = async () => {
      const w = spawnWorker(env);
      workers.push(w);
      await w.ready;
    };
    for (let i = 0; i < 2; i++)
      apis.push(new ApiProcess({ name: `api-${i}`, port: await freePort(), internalPort: await freePort(), env }));
    await Promise.all(apis.map((a) => a.start()));
    await startWorker();
    await startWorker();
    // Two frontends, as deployed: the public one (console, admin API, token endpoint) and the internal one (DEK API)
    // that only the vendor's services reach.
    const lbPort = await freePort();
    const lbInternalPort = await freePort();
    lb = await LocalHaproxy.start([
      { name: 'public', port: lbPort, backends: apis.map((a) => a.port), check: '/readyz' },
      { name: 'internal', port: lbInternalPort, backends: apis.map((a) => a.internalPort), check: '/readyz' },
    ]);
    const http = new HttpClient(`http://127.0.0.1:${lbPort}`, `http://127.0.0.1:${lbInternalPort}`);
    pg = new Client({ connectionString: stack.db.url, application_name: 'hardening-chaos' });
    await pg.connect();

    // The population: one tenant whose workspaces carry the traffic, one that will revoke.
    const t = await seedTenant(stack, 'chaos');
    const workspaceIds = [t.workspaceId];
    for (let i = 1; i < opts.workspaces; i++) {
      const ws = await stack.http.post(`${t.base}/workspaces`, { name: `chaos-${i}` }, t.tokens.keyAdmin);
      const bound = await stack.http.put(
        `${t.base}/workspaces/${ws.body.id}/key-binding`,
        { keyConfigurationId: t.keyConfigurationId },
        t.tokens.keyAdmin,
      );
      if (bound.status !== 200) throw new Error(`binding chaos workspace: ${bound.status} ${bound.text.slice(0, 200)}`);
      workspaceIds.push(ws.body.id as string);
    }
    const sp = await stack.http.post(
      `${t.base}/service-principals`,
      { name: 'chaos-traffic', workspaceIds },
      t.tokens.keyAdmin,
    );
    if (sp.status !== 201) throw new Error(`chaos service principal: ${sp.status} ${sp.text.slice(0, 200)}`);
    const token = { value: '', at: 0 };
    const refreshToken = async () => {
      for (let i = 0; i < 50; i++) {
        const res = await http.post('/v1/auth/token', {
          grant_type: 'client_credentials',
          client_id: sp.body.clientId,
          client_secret: sp.body.clientSecret,
        });
        if (res.status === 200) {
          token.value = res.body.access_token as string;
          token.at = Date.now();
          return;
        }
        await sleep(200); // a fault may be on (Postgres down): the token endpoint answers 503, try again
      }
      throw new Error('no service token through the load balancer for 10 s');
    };
    await refreshToken();
    const revoker = await seedTenant(stack, 'chaos-revoker');
    const revokerDek = await http.get(revoker.dekPath('before'), revoker.tokens.service);
    if (revokerDek.status !== 200) throw new Error(`warming the revoking tenant: ${revokerDek.status}`);

    const dekPath = (ws: string, seg: string) =>
      `/internal/v1/workspaces/${ws}/segments/${encodeURIComponent(seg)}/dek`;
    const known = new Map<string, string>();
    for (const ws of workspaceIds) {
      const segs = Array.from({ length: opts.segmentsPerWorkspace }, (_, i) => `c-${i}`);
      const res = await http.post(`/internal/v1/workspaces/${ws}/deks:batchGet`, { segmentIds: segs }, token.value);
      if (res.status !== 200) throw new Error(`seeding chaos DEKs: ${res.status} ${res.text.slice(0, 200)}`);
      for (const d of res.body.deks as Array<{ segmentId: string; dek: string }>)
        known.set(`${ws}/${d.segmentId}`, d.dek);
    }

    // Faults. Each returns when it has been lifted.
    const adminUrl = stack.emulators.admin.url;
    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${adminUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`emulator admin ${method} ${path}: ${res.status} ${await res.text()}`);
      return res;
    };
    const kms = (rule: Record<string, unknown>) => async (ms: number) => {
      const res = await admin('POST', '/faults', rule);
      const { id } = (await res.json()) as { id: string };
      await sleep(ms);
      await admin('DELETE', `/faults/${id}`);
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const faults: Array<[string, (ms: number) => Promise<void>]> = [
      ['kms-latency', kms({ cloud: 'aws', kind: 'latency', latencyMs: 700, jitterMs: 300 })],
      ['kms-throttle', kms({ cloud: 'aws', kind: 'throttle' })],
      ['kms-5xx', kms({ cloud: 'aws', kind: 'error' })],
      ['kms-hang', kms({ cloud: 'aws', kind: 'hang' })],
      ['kms-connection-reset', kms({ cloud: 'aws', kind: 'reset' })],
      ['kms-flaky-errors', kms({ cloud: 'aws', kind: 'error', rate: 0.5 })],
      ['kms-decrypt-throttled', kms({ cloud: 'aws', operation: 'Decrypt', kind: 'throttle' })],
      ['sts-assume-role-5xx', kms({ cloud: 'aws', operation: 'AssumeRole', kind: 'error' })],
      [
        'vendor-iam-deny',
        async (ms) => {
          await admin('PUT', `/aws/principals/${AWS_EMULATOR_DEFAULTS.vendorAccessKeyId}/policies/deny-assume`, {
            policy: DENY_ASSUME,
          });
          await sleep(ms);
          await admin('DELETE', `/aws/principals/${AWS_EMULATOR_DEFAULTS.vendorAccessKeyId}/policies/deny-assume`);
        },
      ],
      // AWS KMS is eventually consistent: while on, a key state or policy change (the revocation half way, if it
      // lands then) is seen old or new at random by each read for a while
      [
        'kms-propagation-flapping',
        async (ms) => {
          await admin('PUT', '/propagation/aws', {
            delayMs: 100,
            flapMs: Math.max(500, ms * 2),
            newRate: 0.5,
            seed: Math.floor(random() * 1e9),
          });
          await sleep(ms);
          await admin('DELETE', '/propagation/aws');
        },
      ],
      ['api-replica-sigkill', (ms) => pick(apis).crashAndRestart('SIGKILL', ms)],
      ['api-replica-restart', (ms) => pick(apis).crashAndRestart('SIGTERM', ms)],
      [
        'worker-sigkill',
        async (ms) => {
          const w = workers.splice(Math.floor(random() * workers.length), 1)[0];
          w.kill('SIGKILL');
          await w.exited;
          await sleep(ms);
          await startWorker();
        },
      ],
      [
        'worker-restart',
        async (ms) => {
          const w = workers.splice(Math.floor(random() * workers.length), 1)[0];
          w.kill('SIGTERM');
          if (!(await Promise.race([w.exited, sleep(10_000).then(() => null)]))) w.kill('SIGKILL');
          await sleep(ms);
          await startWorker();
        },
      ],
      ['redis-restart-empty', (ms) => stack.redis!.restart(ms)],
      [
        'redis-pubsub-dropped',
        async (ms) => {
          const redis = new Redis(stack.redis!.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
          await redis.connect();
          try {
            await redis.client('KILL', 'TYPE', 'pubsub');
          } finally {
            redis.disconnect();
          }
          await sleep(ms);
        },
      ],
      [
        'postgres-connections-terminated',
        async (ms) => {
          await pg!.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name LIKE 'keyhold-%'`,
            [stack.db.name],
          );
          await sleep(ms);
        },
      ],
    ];
    if (stack.postgres)
      faults.push([
        'postgres-restart',
        async (ms) => {
          await pg!.end().catch(() => undefined);
          await stack.postgres!.restart(ms);
          pg = new Client({ connectionString: stack.db.url, application_name: 'hardening-chaos' });
          await pg.connect();
        },
      ]);
    else note(`postgres-restart not in the schedule: ${stack.postgresNote ?? 'no private cluster'}`);

    // Traffic: DEK fetches of known and new segments through the load balancer; KEK rotations requested now and then.
    const windows: Window[] = [];
    const samples: Array<{ start: number; end: number; status: number; code?: string }> = [];
    let running = true;
    let mismatches = 0;
    const order = [...known.keys()];
    const traffic = Array.from({ length: opts.concurrency }, async () => {
      while (running) {
        if (Date.now() - token.at > 5 * 60_000)
          await refreshToken().catch((err: unknown) => note(`token refresh: ${(err as Error).message}`));
        const fresh = Math.random() < 0.2;
        const key = fresh
          ? `${pick(workspaceIds)}/n-${randomBytes(5).toString('hex')}`
          : order[Math.floor(Math.random() * order.length)];
        const [ws, seg] = key.split('/');
        const start = Date.now();
        const res = await http
          .request('GET', dekPath(ws, seg), { token: token.value, timeoutMs: 15_000 })
          .catch(() => null);
        samples.push({ start, end: Date.now(), status: res?.status ?? 0, code: res?.body?.error?.code });
        if (res?.status === 200) {
          const seen = known.get(key);
          if (seen === undefined) {
            known.set(key, res.body.dek as string);
            order.push(key);
          } else if (seen !== res.body.dek) mismatches++;
        }
        await sleep(10);
      }
    });
    const operations = (async () => {
      while (running) {
        await sleep(between([2_000, 5_000]));
        if (!running) break;
        await http
          .post(`${t.base}/workspaces/${pick(workspaceIds)}/operations`, { kind: 'kek-rotation' }, t.tokens.keyAdmin)
          .catch(() => null);
      }
    })();

    // The schedule: every kind once (shuffled), then at random, until the time is up; the customer revokes half way.
    const t0 = Date.now();
    const deadline = t0 + opts.seconds * 1000;
    const firstPass = [...faults].sort(() => random() - 0.5);
    let revokedAt: number | null = null;
    while (Date.now() < deadline) {
      if (revokedAt === null && Date.now() - t0 > (opts.seconds * 1000) / 2) {
        await stack.aws.kms.send(new DisableKeyCommand({ KeyId: revoker.keyArn }));
        revokedAt = Date.now();
      }
      const [kind, inject] = firstPass.shift() ?? pick(faults);
      const start = Date.now();
      try {
        await inject(between(opts.faultMs));
      } catch (err) {
        note(`fault ${kind} could not be injected: ${(err as Error).message.slice(0, 200)}`);
      }
      windows.push({ kind, start, end: Date.now() });
      r.faultInjections++;
      r.injectionsByKind[kind] = (r.injectionsByKind[kind] ?? 0) + 1;
      await sleep(between(opts.gapMs));
    }
    running = false;
    await Promise.all([...traffic, operations]);
    if (revokedAt === null) {
      await stack.aws.kms.send(new DisableKeyCommand({ KeyId: revoker.keyArn }));
      revokedAt = Date.now();
    }

    // Settle: every operation finishes, the revoked customer's workspace is shredded.
    const settleBy = Date.now() + opts.settleMs;
    const count = async (sql: string, params: unknown[] = []) => Number((await pg!.query(sql, params)).rows[0].n);
    while (
      Date.now() < settleBy &&
      (await count(`SELECT count(*) AS n FROM operations WHERE state IN ('queued', 'running')`)) > 0
    )
      await sleep(250);
    while (Date.now() < settleBy) {
      if (
        (await pg.query(`SELECT key_state FROM workspaces WHERE id = $1`, [revoker.workspaceId])).rows[0]?.key_state ===
        'shredded'
      ) {
        r.revocationSeconds = Math.round((Date.now() - revokedAt) / 100) / 10;
        break;
      }
      await sleep(200);
    }
    if (r.revocationSeconds === null) {
      r.revocationsMissed = 1;
      note('the revoking customer was never shredded');
    } else {
      for (const a of apis) {
        const res = await new HttpClient(a.url, `http://127.0.0.1:${a.internalPort}`).get(
          revoker.dekPath('before'),
          revoker.tokens.service,
        );
        if (res.status !== 410) note(`${a.name} still answers ${res.status} for the revoked customer's DEK`);
      }
    }

    const ops = (await pg.query(`SELECT kind, state FROM operations`)).rows as Array<{ kind: string; state: string }>;
    r.operations = ops.length;
    r.stuckOperations = ops.filter((o) => o.state === 'queued' || o.state === 'running').length;
    r.falseShreds = await count(
      `SELECT count(*) AS n FROM workspaces w JOIN tenants t ON t.id = w.tenant_id WHERE w.key_state = 'shredded' AND w.tenant_id <> $1`,
      [revoker.id],
    );
    if (r.falseShreds) note(`${r.falseShreds} workspace(s) shredded although their customer revoked nothing`);
    const audit = await lostAuditEvents(pg);
    r.auditEventsLost = audit.lost;

    const inWindow = (s: { start: number; end: number }) =>
      windows.some((w) => s.end >= w.start && s.start <= w.end + GRACE_MS);
    const outside = new Map<string, number>();
    for (const s of samples) {
      r.dekFetches++;
      if (s.status === 200) continue;
      r.dekFetchErrors++;
      if (inWindow(s)) r.errorsInWindows++;
      else {
        r.errorsOutsideWindow++;
        const k = `${s.status} ${s.code ?? ''}`;
        outside.set(k, (outside.get(k) ?? 0) + 1);
      }
    }
    for (const [k, n] of outside) note(`DEK fetch ${k} outside every fault window: ${n}×`);

    // Nothing lost: every DEK handed out comes back, identical, through the load balancer.
    await refreshToken();
    const byWs = new Map<string, Array<[string, string]>>();
    for (const [key, dek] of known) {
      const [ws, seg] = key.split('/');
      byWs.set(ws, [...(byWs.get(ws) ?? []), [seg, dek]]);
    }
    for (const [ws, entries] of byWs) {
      for (let i = 0; i < entries.length; i += 500) {
        const chunk = entries.slice(i, i + 500);
        const res = await http.post(
          `/internal/v1/workspaces/${ws}/deks:batchGet`,
          { segmentIds: chunk.map(([s]) => s) },
          token.value,
        );
        if (res.status !== 200) {
          r.lostDeks += chunk.length;
          note(`final read: ${res.status} ${res.text.slice(0, 160)}`);
          continue;
        }
        const got = new Map(
          (res.body.deks as Array<{ segmentId: string; dek: string }>).map((d) => [d.segmentId, d.dek]),
        );
        for (const [s, d] of chunk) if (got.get(s) !== d) r.lostDeks++;
      }
    }
    r.lostDeks += mismatches;
    r.faultKinds = Object.keys(r.injectionsByKind);
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    for (const a of apis) await a.stop('SIGKILL').catch(() => undefined);
    await lb?.stop();
    await pg?.end().catch(() => undefined);
    for (const c of clients) c.destroy();
    await stack.close();
  }
  return r;
}
