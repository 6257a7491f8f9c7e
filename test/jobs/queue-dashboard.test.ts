import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { JobName, QueueName } from '@app/jobs';

const ROOT = join(__dirname, '..', '..');
const token = randomBytes(32).toString('base64url');
const prefix = `kh-dash-${randomBytes(4).toString('hex')}`;
let url: string;
let child: ReturnType<typeof spawn>;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const q = new Queue(QueueName.KekRotation, { connection: redis, prefix });
  await q.add(JobName.KekRotation, { operationId: 'op-1', tenantId: 't-1' }, { jobId: 'op-1', delay: 60_000 });
  await q.close();
  child = spawn(
    process.execPath,
    ['-r', join(ROOT, 'test/support/swc-register.js'), join(__dirname, 'fixtures/dashboard-server.ts')],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', OPERATOR_TOKEN: token, PREFIX: prefix, REDIS_URL: 'redis://127.0.0.1:6379' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`dashboard fixture did not start: ${out}`)), 30_000);
    const on = (b: Buffer) => {
      out += b.toString();
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dashboard fixture exited (${code}): ${out}`));
    });
  });
}, 40_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('queue dashboard (mountQueueDashboard)', () => {
  it('refuses requests without the operator token', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: { code: 'UNAUTHORIZED', message: 'operator authentication required' },
      });
    }
    const wrong = await fetch(`${url}/admin/queues`, { headers: { authorization: `Bearer ${token.slice(1)}x` } });
    expect(wrong.status).toBe(401);
  });

  it('serves the board and the queues to the operator, and leaves other routes alone', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const page = await fetch(`${url}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const api = await fetch(
      `${url}/admin/queues/api/queues?activeQueue=${QueueName.KekRotation}&status=delayed&page=1`,
      { headers: auth },
    );
    expect(api.status).toBe(200);
    const body = (await api.json()) as {
      queues: Array<{ name: string; readOnlyMode: boolean; jobs: Array<{ id: string; data: unknown }> }>;
    };
    expect(body.queues.map((q) => q.name).sort()).toEqual([QueueName.AccessProbe, QueueName.KekRotation].sort());
    const kek = body.queues.find((q) => q.name === QueueName.KekRotation)!;
    expect(kek.readOnlyMode).toBe(true);
    expect(kek.jobs.map((j) => j.id)).toEqual(['op-1']);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
