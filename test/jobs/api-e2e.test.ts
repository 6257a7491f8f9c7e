import { DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import Redis from 'ioredis';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { awsBoundWorkspace, cleanRedisPrefix, startStack, TestStack } from '../support/stack';
import { startTestWorker } from '../support/worker';

/**
 * The API and the worker together, over HTTP: an admin requests operations through the API, the worker (same
 * Redis prefix) executes them, the admin watches them through GET …/operations/{id}, and services keep fetching
 * DEKs over the internal API throughout. Schedulers and the reconciler are kept to this stack's own jobs (the
 * stack shares the test database with other suites).
 */
let stack: TestStack;
let worker: RunningWorker;

beforeAll(async () => {
  stack = await startStack({ config: { probeConfirmationWindowSeconds: 2, probeConfirmations: 3, logLevel: 'info' } });
  worker = await startTestWorker(
    { ...stack.config, logLevel: 'silent' },
    { schedulers: false, settings: { reconcileStaleMs: 3_600_000 } },
  );
});
afterAll(async () => {
  await worker?.close();
  await stack?.close();
  if (!stack) return;
  await cleanRedisPrefix(stack);
});

const boundWorkspace = () => awsBoundWorkspace(stack);

async function poll(path: string, token: string, until: (body: any) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = (await stack.http.get(path, token)).body;
    if (until(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out polling ${path}: ${JSON.stringify(last)}`);
}

describe('operations requested through the API, executed by the worker', () => {
  it('KEK rotation with progress while services fetch DEKs over HTTP', async () => {
    const t = await boundWorkspace();
    const segs = Array.from({ length: 3_000 }, (_, i) => `s-${i}`);
    const before = new Map<string, string>();
    for (let i = 0; i < segs.length; i += 1000) {
      const r = await stack.http.post(
        `/internal/v1/workspaces/${t.wsId}/deks:batchGet`,
        { segmentIds: segs.slice(i, i + 1000) },
        t.svc,
      );
      expect(r.status).toBe(200);
      for (const d of r.body.deks) before.set(d.segmentId, d.dek);
    }
    const req = await stack.http.post(`${t.base}/workspaces/${t.wsId}/operations`, { kind: 'kek-rotation' }, t.token);
    expect(req.status).toBe(202);
    const opPath = `${t.base}/operations/${req.body.operationId}`;

    let done = false;
    const statuses: number[] = [];
    const fetcher = (async () => {
      for (let i = 0; !done; i++) {
        const r = await stack.http.get(
          `/internal/v1/workspaces/${t.wsId}/segments/${segs[(i * 37) % segs.length]}/dek`,
          t.svc,
        );
        statuses.push(r.status);
        if (r.status === 200) expect(r.body.dek).toBe(before.get(segs[(i * 37) % segs.length]));
      }
    })();
    const op = await poll(opPath, t.token, (b) => b.state === 'succeeded' || b.state === 'failed', 30_000);
    done = true;
    await fetcher;
    expect(op).toMatchObject({ kind: 'kek-rotation', state: 'succeeded', progress: { done: 3_000, total: 3_000 } });
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const ws = await stack.http.get(`${t.base}/workspaces/${t.wsId}`, t.token);
    expect(ws.body).toMatchObject({ keyState: 'active', kekVersion: 2 });
    const fresh = await stack.http.get(`/internal/v1/workspaces/${t.wsId}/segments/new-after-rotation/dek`, t.svc);
    expect(fresh.body.kekVersion).toBe(2);
  });

  it('revocation check → shredded → the DEK API answers 410; reinstate after re-enabling → 200 again', async () => {
    const t = await boundWorkspace();
    const first = await stack.http.get(`/internal/v1/workspaces/${t.wsId}/segments/a/dek`, t.svc);
    expect(first.status).toBe(200);
    await stack.aws.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
    const req = await stack.http.post(
      `${t.base}/workspaces/${t.wsId}/operations`,
      { kind: 'revocation-check' },
      t.token,
    );
    expect(req.status).toBe(202);
    const op = await poll(
      `${t.base}/operations/${req.body.operationId}`,
      t.token,
      (b) => b.state === 'succeeded' || b.state === 'failed',
    );
    expect(op.state).toBe('succeeded');
    expect((await stack.http.get(`${t.base}/workspaces/${t.wsId}`, t.token)).body.keyState).toBe('shredded');
    // The API replica had the KEK cached: the worker's shred reached it (pub/sub), so even a cached DEK is refused.
    const gone = await poll(
      `/internal/v1/workspaces/${t.wsId}/segments/a/dek`,
      t.svc,
      (b) => b?.error?.code === 'WORKSPACE_SHREDDED',
      5_000,
    );
    expect(gone.error.code).toBe('WORKSPACE_SHREDDED');
    const status = await stack.http.get(`/internal/v1/workspaces/${t.wsId}/segments/a/dek`, t.svc);
    expect(status.status).toBe(410);

    await stack.aws.kms.send(new EnableKeyCommand({ KeyId: t.keyArn }));
    const re = await stack.http.post(`${t.base}/workspaces/${t.wsId}/operations`, { kind: 'reinstate' }, t.token);
    expect(re.status).toBe(202);
    const reOp = await poll(
      `${t.base}/operations/${re.body.operationId}`,
      t.token,
      (b) => b.state === 'succeeded' || b.state === 'failed',
    );
    expect(reOp.state).toBe('succeeded');
    const back = await poll(
      `/internal/v1/workspaces/${t.wsId}/segments/a/dek`,
      t.svc,
      (b) => typeof b?.dek === 'string',
      5_000,
    );
    expect(back.dek).toBe(first.body.dek);

    // Nothing secret in what the API logged meanwhile.
    expect(stack.logs()).not.toContain(first.body.dek);
  });

  it('jobs in Redis carry ids only: no key material in any job payload or key under the prefix', async () => {
    const t = await boundWorkspace();
    const dek = (await stack.http.get(`/internal/v1/workspaces/${t.wsId}/segments/x/dek`, t.svc)).body.dek as string;
    const req = await stack.http.post(`${t.base}/workspaces/${t.wsId}/operations`, { kind: 'kek-rotation' }, t.token);
    await poll(`${t.base}/operations/${req.body.operationId}`, t.token, (b) => b.state === 'succeeded');
    const redis = new Redis(stack.config.redisUrl);
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${stack.redisPrefix}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      expect(keys.length).toBeGreaterThan(0);
      const needles = [dek, Buffer.from(dek, 'base64').toString('hex')];
      for (const key of keys) {
        const type = await redis.type(key);
        const dump =
          type === 'hash'
            ? JSON.stringify(await redis.hgetall(key))
            : type === 'string'
              ? String(await redis.get(key))
              : type === 'list'
                ? JSON.stringify(await redis.lrange(key, 0, -1))
                : type === 'zset'
                  ? JSON.stringify(await redis.zrange(key, 0, -1))
                  : type === 'set'
                    ? JSON.stringify(await redis.smembers(key))
                    : '';
        for (const n of needles) expect(dump).not.toContain(n);
        if (type === 'hash') {
          const data = await redis.hget(key, 'data');
          if (data)
            for (const field of Object.keys(JSON.parse(data)))
              expect(['operationId', 'tenantId', 'keyConfigurationId', 'parks']).toContain(field);
        }
      }
    } finally {
      redis.disconnect();
    }
  });
});
