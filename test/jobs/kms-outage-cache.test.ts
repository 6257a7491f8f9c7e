import { randomBytes } from 'node:crypto';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { ApiApp } from '../../apps/api/src/app';
import { discardLogs, startApi } from '../../stack';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { HttpClient, startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { privateDatabase } from '../support/db';
import { startTestWorker } from '../support/worker';

/**
 * The caches exist to ride out a KMS outage, and the lost-message fallback exists to purge a shredded KEK from a
 * replica that missed the pub/sub message. Both against the real thing: the API (two replicas for the second
 * case), the worker probing every second, and the AWS emulator's fault engine throttling every call.
 */
const POLL_MS = 1_000;
let stack: TestStack;
let worker: RunningWorker;

let db: Awaited<ReturnType<typeof privateDatabase>>;

beforeAll(async () => {
  // A database of its own: this file's worker probes every key configuration it finds (probes are platform-wide).
  db = await privateDatabase();
  stack = await startStack({
    config: {
      databaseUrl: db.url,
      probeIntervalSeconds: 1,
      probeConfirmationWindowSeconds: 1,
      probeConfirmations: 2,
      kekCachePollIntervalMs: POLL_MS,
      // the DEK path re-reads workspace state far more often than the poll runs (the case that used to move the
      // poll's baseline forward)
      dekStateCacheTtlMs: 100,
    },
  });
  worker = await startTestWorker({ ...stack.config, logLevel: 'silent' });
});
afterAll(async () => {
  await worker?.close();
  await stack?.close();
  await db?.drop();
});

async function boundWorkspace(http: HttpClient = stack.http) {
  const t = await tenantWithAdmin(stack);
  const vendorArn = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
  const roleName = `keyhold-${randomBytes(4).toString('hex')}`;
  const roleArn = await stack.aws.createRole(roleName, vendorArn, t.tenant.aws.externalId);
  const keyArn = await stack.aws.createKey(roleArn, roleName);
  const base = `/v1/tenants/${t.tenant.id}`;
  const kc = await http.post(
    `${base}/key-configurations`,
    { name: 'main', provider: 'aws', aws: { keyArn, roleArn } },
    t.token,
  );
  expect(kc.body.status).toBe('valid');
  const ws = await http.post(`${base}/workspaces`, { name: 'ws' }, t.token);
  await http.put(`${base}/workspaces/${ws.body.id}/key-binding`, { keyConfigurationId: kc.body.id }, t.token);
  const sp = await http.post(`${base}/service-principals`, { name: 'svc', workspaceIds: [ws.body.id] }, t.token);
  const tok = await http.post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: sp.body.clientId,
    client_secret: sp.body.clientSecret,
  });
  return {
    ...t,
    base,
    keyArn,
    kcId: kc.body.id as string,
    wsId: ws.body.id as string,
    svc: tok.body.access_token as string,
  };
}

const dekPath = (wsId: string, segment: string) => `/internal/v1/workspaces/${wsId}/segments/${segment}/dek`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dbWorkspace(wsId: string): Promise<{ keyState: string; degraded: boolean }> {
  const [row] = await stack.api.services.ds.query(
    `SELECT key_state AS "keyState", degraded FROM workspaces WHERE id = $1`,
    [wsId],
  );
  return row;
}

async function waitUntil(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  every = 25,
): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await cond()) return Date.now() - start;
    await sleep(every);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

it('a KMS outage of many probe intervals: every workspace whose KEK was cached keeps being served, busy or idle', async () => {
  const busy = await boundWorkspace();
  const idle = await boundWorkspace();
  const known = await stack.http.get(dekPath(busy.wsId, 'known'), busy.svc);
  expect(known.status).toBe(200);
  expect((await stack.http.get(dekPath(idle.wsId, 'idle'), idle.svc)).status).toBe(200);

  // Every AWS call throttled (STS and KMS), the way a customer's shared KMS quota runs out.
  const fault = stack.emulators.faults.add({ cloud: 'aws', kind: 'throttle' });
  const failures: string[] = [];
  let fetches = 0;
  try {
    const until = Date.now() + 8_000; // 8 probe intervals, 8 polls
    while (Date.now() < until) {
      const r = await stack.http.get(dekPath(busy.wsId, 'known'), busy.svc);
      fetches++;
      if (r.status !== 200) failures.push(`${r.status} ${r.body?.error?.code}`);
      else expect(r.body.dek).toBe(known.body.dek);
      // a new segment needs only the cached KEK and Postgres
      const fresh = await stack.http.get(dekPath(busy.wsId, `new-${fetches}`), busy.svc);
      if (fresh.status !== 200) failures.push(`new segment: ${fresh.status} ${fresh.body?.error?.code}`);
      await sleep(200);
    }
    // The outage was felt: the probes marked the workspaces degraded (and nothing else).
    expect(await dbWorkspace(busy.wsId)).toEqual({ keyState: 'active', degraded: true });
    expect(await dbWorkspace(idle.wsId)).toEqual({ keyState: 'active', degraded: true });
    // The idle workspace, warmed before the outage and untouched during it, answers from its cache at its end.
    const late = await stack.http.get(dekPath(idle.wsId, 'idle'), idle.svc);
    expect(`${late.status} ${late.body?.error?.code ?? ''}`.trim()).toBe('200');
  } finally {
    stack.emulators.faults.remove(fault.id);
  }
  expect(fetches).toBeGreaterThan(20);
  expect(failures).toEqual([]);
  // Recovery clears the flag.
  await waitUntil('degraded cleared', async () => !(await dbWorkspace(busy.wsId)).degraded, 10_000, 100);
}, 60_000);

it('a replica that missed the shred message purges the KEK within one poll interval, with or without DEK traffic', async () => {
  const sink = discardLogs();
  const replica: ApiApp = await startApi(stack.config, { logDestination: sink });
  try {
    const http = new HttpClient(replica.url, replica.internalUrl);
    // `busy` keeps receiving DEK requests on the deaf replica (its state reads used to move the poll's baseline
    // forward); `quiet` receives none, so only the poll can purge it.
    const busy = await boundWorkspace();
    const quiet = await boundWorkspace();
    for (const w of [busy, quiet]) {
      expect((await http.get(dekPath(w.wsId, 'a'), w.svc)).status).toBe(200);
      expect(replica.services.kekCache.hasWorkspace(w.wsId)).toBe(true);
    }
    // This replica stops hearing pub/sub (a reconnect at the wrong moment); it keeps serving DEK traffic.
    await replica.services.kekBus.detachSubscription();
    let running = true;
    const traffic = (async () => {
      while (running) {
        await http.get(dekPath(busy.wsId, 'a'), busy.svc);
        await sleep(50);
      }
    })();

    const purged: Record<string, number> = {};
    await Promise.all(
      [busy, quiet].map(async (w, i) => {
        await stack.aws.kms.send(new DisableKeyCommand({ KeyId: w.keyArn }));
        const req = await stack.http.post(
          `${w.base}/workspaces/${w.wsId}/operations`,
          { kind: 'revocation-check' },
          w.token,
        );
        expect(req.status).toBe(202);
        await waitUntil('shredded', async () => (await dbWorkspace(w.wsId)).keyState === 'shredded', 30_000, 20);
        purged[i ? 'quiet' : 'busy'] = await waitUntil(
          'purge on the deaf replica',
          () => !replica.services.kekCache.hasWorkspace(w.wsId),
          POLL_MS * 5,
          20,
        ).catch(() => Infinity);
      }),
    );
    running = false;
    await traffic;
    process.stdout.write(`missed shred purged after ${JSON.stringify(purged)} ms (poll interval ${POLL_MS} ms)\n`);
    // At most one poll interval after the shred was seen committed (plus the poll's own query).
    expect(purged.busy).toBeLessThanOrEqual(POLL_MS + 250);
    expect(purged.quiet).toBeLessThanOrEqual(POLL_MS + 250);
    for (const w of [busy, quiet]) expect((await http.get(dekPath(w.wsId, 'a'), w.svc)).status).toBe(410);
  } finally {
    await replica.close();
  }
}, 60_000);
