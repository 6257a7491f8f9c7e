import { randomBytes } from 'node:crypto';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { AWS_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/aws';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { emulatorAdmin, EmulatorAdmin } from '../support/emulator-admin';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { privateDatabase } from '../support/db';
import { startTestWorker } from '../support/worker';
import { createAwsVendorCanary } from '../../hardening/lib/vendor-canary';

/**
 * A vendor-side failure is never a revocation. The vendor's own IAM loses sts:AssumeRole (an identity-policy Deny
 * on the vendor user, through the AWS emulator's vendor identity switch) with a SINGLE customer, so the aggregate
 * positive control has nothing to compare with: the vendor-owned canary (a key and a role in the vendor's account,
 * assumed with the same credentials and an ExternalId) fails the same way, every customer verdict is held in
 * access_suspect, DEKs keep flowing from cache, and the condition shows on /metrics and the operator route.
 * Restored: active again. And the other side: with a healthy canary, a real revocation still shreds.
 */
let stack: TestStack;
let admin: EmulatorAdmin;
const workers: RunningWorker[] = [];
const clients: Array<{ destroy(): void }> = [];
let canaryEnv: Record<string, string>;
const d = AWS_EMULATOR_DEFAULTS;

let db: Awaited<ReturnType<typeof privateDatabase>>;

beforeAll(async () => {
  // A database of its own: this file's worker probes every key configuration it finds (probes are platform-wide).
  db = await privateDatabase();
  stack = await startStack({
    config: { databaseUrl: db.url, probeIntervalSeconds: 1, probeConfirmationWindowSeconds: 1, probeConfirmations: 2 },
  });
  admin = emulatorAdmin(stack.emulators.admin.url);
  canaryEnv = await createAwsVendorCanary(stack.emulators.aws.url, clients);
});
afterAll(async () => {
  for (const w of workers) await w.close();
  for (const c of clients) c.destroy();
  await stack?.close();
  await db?.drop();
});

async function worker(): Promise<RunningWorker> {
  const w = await startTestWorker({
    ...stack.config,
    logLevel: 'silent',
    providerEnv: { ...stack.config.providerEnv, ...canaryEnv },
  });
  workers.push(w);
  return w;
}
async function stop(w: RunningWorker): Promise<void> {
  await w.close();
  workers.splice(workers.indexOf(w), 1);
}

async function boundWorkspace() {
  const t = await tenantWithAdmin(stack);
  const vendorArn = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
  const roleName = `keyhold-${randomBytes(4).toString('hex')}`;
  const roleArn = await stack.aws.createRole(roleName, vendorArn, t.tenant.aws.externalId);
  const keyArn = await stack.aws.createKey(roleArn, roleName);
  const base = `/v1/tenants/${t.tenant.id}`;
  const kc = await stack.http.post(
    `${base}/key-configurations`,
    { name: 'main', provider: 'aws', aws: { keyArn, roleArn } },
    t.token,
  );
  expect(kc.body.status).toBe('valid');
  const ws = await stack.http.post(`${base}/workspaces`, { name: 'ws' }, t.token);
  await stack.http.put(`${base}/workspaces/${ws.body.id}/key-binding`, { keyConfigurationId: kc.body.id }, t.token);
  const sp = await stack.http.post(`${base}/service-principals`, { name: 'svc', workspaceIds: [ws.body.id] }, t.token);
  const tok = await stack.http.post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: sp.body.clientId,
    client_secret: sp.body.clientSecret,
  });
  return { ...t, base, keyArn, wsId: ws.body.id as string, svc: tok.body.access_token as string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dekPath = (wsId: string, segment: string) => `/internal/v1/workspaces/${wsId}/segments/${segment}/dek`;
async function keyState(wsId: string): Promise<string> {
  return (await stack.api.services.ds.query(`SELECT key_state FROM workspaces WHERE id = $1`, [wsId]))[0].key_state;
}
async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await sleep(100);
    last = await read();
  }
  return last;
}
const canaryGauge = async (url: string): Promise<string | undefined> =>
  /keyhold_vendor_canary_healthy\{provider="aws"\} (\d)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1];
const DENY_ASSUME = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'sts:AssumeRole', Resource: '*' }] };

it('the vendor user loses sts:AssumeRole with a single customer: held in access_suspect for many probe intervals, served from cache, 0 shreds; restored → active', async () => {
  // The canary answers through the vendor's identity path before anything breaks.
  const first = await worker();
  await waitFor(
    'canary healthy',
    () => canaryGauge(first.metricsUrl),
    (v) => v === '1',
    10_000,
  );
  await stop(first);

  const c = await boundWorkspace();
  const warm = await stack.http.get(dekPath(c.wsId, 'seg'), c.svc);
  expect(warm.status).toBe(200);
  // The vendor's security team attaches a Deny to the vendor user (role sessions already issued stay valid in AWS,
  // so the next worker, which has none cached, is the one that meets it).
  expect(
    (await admin('PUT', `/aws/principals/${d.vendorAccessKeyId}/policies/deny-assume`, { policy: DENY_ASSUME })).status,
  ).toBe(200);
  const w = await worker();
  try {
    const states = new Set<string>();
    const served: number[] = [];
    const until = Date.now() + 10_000; // 10 probe intervals; confirmation needs 2 over 1 s
    while (Date.now() < until) {
      states.add(await keyState(c.wsId));
      const r = await stack.http.get(dekPath(c.wsId, 'seg'), c.svc);
      served.push(r.status);
      if (r.status === 200) expect(r.body.dek).toBe(warm.body.dek);
      await sleep(250);
    }
    expect(states.has('shredded')).toBe(false);
    expect(states.has('access_suspect')).toBe(true); // the customer probes did fail (the deny was felt)
    expect(served.filter((s) => s !== 200)).toEqual([]);
    expect(await canaryGauge(w.metricsUrl)).toBe('0');
    // The operator sees it on the API too (/metrics and the platform route), without any tenant data.
    const metrics = await stack.http.request('GET', '/metrics', {
      headers: { authorization: `Bearer ${stack.operatorToken}` },
    });
    expect(metrics.text).toMatch(/keyhold_vendor_canary_healthy\{provider="aws"\} 0/);
    const status = await stack.http.get('/v1/platform/vendor-canaries', stack.operatorToken);
    expect(status.status).toBe(200);
    expect(status.body.canaries).toEqual([
      expect.objectContaining({
        provider: 'aws',
        healthy: false,
        errorClass: 'access_denied',
        target: canaryEnv.KEYHOLD_AWS_CANARY_KEY_ARN,
      }),
    ]);
    // The revocation check says why it holds.
    const ops = await stack.api.services.ds.query(
      `SELECT params FROM operations WHERE workspace_id = $1 AND kind = 'revocation-check' ORDER BY created_at DESC LIMIT 1`,
      [c.wsId],
    );
    expect(String(ops[0]?.params?.lastReason)).toMatch(/vendor-owned canary/);
  } finally {
    await admin('DELETE', `/aws/principals/${d.vendorAccessKeyId}/policies/deny-assume`);
  }
  await waitFor(
    'active again',
    () => keyState(c.wsId),
    (s) => s === 'active',
    20_000,
  );
  await waitFor(
    'canary healthy again',
    () => canaryGauge(w.metricsUrl),
    (v) => v === '1',
    10_000,
  );
  expect((await stack.http.get(dekPath(c.wsId, 'seg'), c.svc)).status).toBe(200);
}, 90_000);

it('with a healthy canary, a real customer revocation still shreds', async () => {
  const w = workers[0] ?? (await worker());
  await waitFor(
    'canary healthy',
    () => canaryGauge(w.metricsUrl),
    (v) => v === '1',
    10_000,
  );
  const c = await boundWorkspace();
  expect((await stack.http.get(dekPath(c.wsId, 'seg'), c.svc)).status).toBe(200);
  await stack.aws.kms.send(new DisableKeyCommand({ KeyId: c.keyArn }));
  const req = await stack.http.post(`${c.base}/workspaces/${c.wsId}/operations`, { kind: 'revocation-check' }, c.token);
  expect(req.status).toBe(202);
  await waitFor(
    'shredded',
    () => keyState(c.wsId),
    (s) => s === 'shredded',
    30_000,
  );
  await waitFor(
    '410',
    async () => (await stack.http.get(dekPath(c.wsId, 'seg'), c.svc)).status,
    (s) => s === 410,
    10_000,
  );
}, 60_000);
