import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { TEST_DATABASE_URL } from '../support/db';
import { startStack, tenantWithAdmin, type TestStack } from '../support/stack';

/**
 * The "stuck operations" alert (deploy/prometheus/alerts.yml) reads these series: an unfinished operation nobody has
 * touched for longer than the reconciler's patience must show up on /metrics, and a fresh one must not.
 */
describe('operation metrics on /metrics', () => {
  let stack: TestStack;
  let pg: Client;
  beforeAll(async () => {
    stack = await startStack();
    pg = new Client({ connectionString: TEST_DATABASE_URL });
    await pg.connect();
  });
  afterAll(async () => {
    await pg.end();
    await stack.close();
  });

  const sample = (text: string, series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };

  it('counts unfinished operations by kind and state, and those untouched for over 10 minutes as stalled', async () => {
    const admin = await tenantWithAdmin(stack);
    const ws = await stack.http.post(`/v1/tenants/${admin.tenant.id}/workspaces`, { name: 'metrics-ws' }, admin.token);
    expect(ws.status).toBe(201);
    const before = (await stack.http.get('/metrics')).text;
    const insert = (kind: string, state: string, ageSeconds: number) =>
      pg.query(
        `INSERT INTO operations (id, tenant_id, workspace_id, kind, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, now() - make_interval(secs => $6), now() - make_interval(secs => $6))`,
        [randomUUID(), admin.tenant.id, ws.body.id, kind, state, ageSeconds],
      );
    await insert('kek-rotation', 'running', 3600);
    await insert('cmk-rewrap', 'queued', 5);
    const after = (await stack.http.get('/metrics')).text;
    expect(
      sample(after, 'keyhold_operations_stalled{kind="kek-rotation"}') -
        sample(before, 'keyhold_operations_stalled{kind="kek-rotation"}'),
    ).toBe(1);
    expect(
      sample(after, 'keyhold_operations_stalled{kind="cmk-rewrap"}') -
        sample(before, 'keyhold_operations_stalled{kind="cmk-rewrap"}'),
    ).toBe(0);
    expect(
      sample(after, 'keyhold_operations_unfinished{kind="cmk-rewrap",state="queued"}') -
        sample(before, 'keyhold_operations_unfinished{kind="cmk-rewrap",state="queued"}'),
    ).toBe(1);
    expect(sample(after, 'keyhold_operation_oldest_unfinished_seconds')).toBeGreaterThanOrEqual(3600);
    await pg.query(`UPDATE operations SET state = 'failed', finished_at = now() WHERE tenant_id = $1`, [
      admin.tenant.id,
    ]);
  });
});

/**
 * The alert rules and the dashboard query only series Keyhold exports: a renamed metric would otherwise leave an
 * alert that can never fire. Names come from the API's /metrics and the worker's metric registry.
 */
describe('deploy/prometheus and deploy/grafana', () => {
  it('reference only metrics the API or the worker export', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { JobMetrics } = await import('../../libs/jobs/src');
    const root = join(__dirname, '..', '..');
    const referenced = new Set<string>();
    for (const file of ['deploy/prometheus/alerts.yml', 'deploy/grafana/keyhold.json'])
      for (const m of readFileSync(join(root, file), 'utf8').matchAll(/\bkeyhold_[a-z0-9_]+/g))
        referenced.add(m[0].replace(/_(bucket|sum|count)$/, ''));
    const stack = await startStack();
    try {
      const exported = new Set<string>();
      for (const m of (await stack.http.get('/metrics')).text.matchAll(/^# TYPE (keyhold_[a-z0-9_]+)/gm))
        exported.add(m[1]);
      const worker = new JobMetrics();
      // The SIEM delivery runtime registers its metrics in the worker's registry when the worker builds it.
      const { SiemRuntime } = await import('../../libs/jobs/src');
      const { SIEM_DEFAULTS } = await import('../../libs/siem/src');
      const { default: IORedis } = await import('ioredis');
      const redis = new IORedis(stack.config.redisUrl, { maxRetriesPerRequest: null });
      const siem = new SiemRuntime(
        {
          ds: stack.api.services.ds,
          redis,
          prefix: stack.config.redisPrefix,
          sealingRootKey: stack.config.audit.hmacKey,
          registry: worker.registry,
          log: { info() {}, warn() {}, error() {} } as never,
        },
        SIEM_DEFAULTS,
        { lockDurationMs: 30_000, stalledIntervalMs: 30_000 },
      );
      try {
        for (const m of (await worker.registry.metrics()).matchAll(/^# TYPE (keyhold_[a-z0-9_]+)/gm))
          exported.add(m[1]);
      } finally {
        await siem.close();
        redis.disconnect();
      }
      expect(referenced.size).toBeGreaterThan(10);
      expect([...referenced].filter((n) => !exported.has(n)).sort()).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});
