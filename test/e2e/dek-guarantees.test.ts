import { DecryptCommand, DisableKeyCommand } from '@aws-sdk/client-kms';
import Redis from 'ioredis';
import { contextToMap } from '../../libs/provider-port/src';
import { awsBoundWorkspace, startStack, TestStack } from '../support/stack';

/**
 * The DEK API's guarantees against the real thing: one DEK per segment under concurrency, single-flight KMS
 * unwraps (read from the emulator's counters), 503 + Retry-After when the KMS fails and nothing is cached,
 * 410 after a shred, revocation-class refusals turning into a revocation check, the audit chain (and tamper
 * detection), and no plaintext key bytes anywhere in Postgres, Redis or the logs.
 */
describe('DEK API guarantees', () => {
  let stack: TestStack;
  const issued: Buffer[] = [];
  const keks: Buffer[] = [];

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  const boundWorkspace = () => awsBoundWorkspace(stack);

  const decrypts = () => stack.emulators.counters.total({ cloud: 'aws', operation: 'Decrypt' });
  const record = (dekB64: string) => issued.push(Buffer.from(dekB64, 'base64'));

  it('50 parallel creates of one segment produce exactly one DEK', async () => {
    const w = await boundWorkspace();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => stack.http.get(w.dekPath('hot-segment'), w.svc)),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.body.dek)).size).toBe(1);
    expect(new Set(results.map((r) => r.body.dekId)).size).toBe(1);
    const rows = await stack.api.services.ds.query(`SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1`, [
      w.wsId,
    ]);
    expect(rows[0].n).toBe(1);
    record(results[0].body.dek);
  });

  it('single flight: N concurrent cold fetches cost one KMS Decrypt', async () => {
    const w = await boundWorkspace();
    stack.api.services.kekCache.clear();
    const before = decrypts();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stack.http.get(w.dekPath(`s-${i}`), w.svc)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(decrypts() - before).toBe(1);
    results.forEach((r) => record(r.body.dek));
    // warm: no KMS call at all
    await stack.http.get(w.dekPath('s-0'), w.svc);
    expect(decrypts() - before).toBe(1);
  });

  it('503 KMS_UNAVAILABLE + Retry-After when the KMS fails and nothing is cached; degraded, then recovers', async () => {
    const w = await boundWorkspace();
    const ok = await stack.http.get(w.dekPath('a'), w.svc);
    record(ok.body.dek);
    stack.api.services.kekCache.clear();
    const rule = stack.emulators.faults.add({
      cloud: 'aws',
      operation: 'Decrypt',
      keyId: w.keyArn.split('/')[1],
      kind: 'error',
    });
    try {
      const r = await stack.http.get(w.dekPath('a'), w.svc);
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('KMS_UNAVAILABLE');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      await waitFor(
        async () => (await stack.http.get(`${w.base}/workspaces/${w.wsId}`, w.token)).body.degraded === true,
      );
    } finally {
      stack.emulators.faults.remove(rule.id);
    }
    const back = await stack.http.get(w.dekPath('a'), w.svc);
    expect(back.status).toBe(200);
    expect(back.body.dek).toBe(ok.body.dek);
    await waitFor(
      async () => (await stack.http.get(`${w.base}/workspaces/${w.wsId}`, w.token)).body.degraded === false,
    );
  });

  it('a cached KEK keeps DEKs flowing while the KMS is down', async () => {
    const w = await boundWorkspace();
    record((await stack.http.get(w.dekPath('warm'), w.svc)).body.dek);
    const rule = stack.emulators.faults.add({ cloud: 'aws', operation: 'Decrypt', kind: 'error' });
    try {
      const r = await stack.http.get(w.dekPath('new-segment'), w.svc);
      expect(r.status).toBe(200);
      record(r.body.dek);
    } finally {
      stack.emulators.faults.remove(rule.id);
    }
  });

  it('a revocation-class refusal requests a revocation check (never shreds inline)', async () => {
    const w = await boundWorkspace();
    stack.api.services.kekCache.clear();
    await stack.aws.kms.send(new DisableKeyCommand({ KeyId: w.keyArn }));
    const r = await stack.http.get(w.dekPath('x'), w.svc);
    expect(r.status).toBe(503);
    const ops = await stack.api.services.ds.query(`SELECT kind, state FROM operations WHERE workspace_id = $1`, [
      w.wsId,
    ]);
    expect(ops).toEqual([{ kind: 'revocation-check', state: 'queued' }]);
    const ws = await stack.http.get(`${w.base}/workspaces/${w.wsId}`, w.token);
    expect(ws.body.keyState).toBe('active');
    // de-duplicated: a second failure does not pile up operations
    await stack.http.get(w.dekPath('y'), w.svc);
    const again = await stack.api.services.ds.query(
      `SELECT count(*)::int AS n FROM operations WHERE workspace_id = $1`,
      [w.wsId],
    );
    expect(again[0].n).toBe(1);
  });

  it('410 WORKSPACE_SHREDDED after a shred, on every path', async () => {
    const w = await boundWorkspace();
    record((await stack.http.get(w.dekPath('before'), w.svc)).body.dek);
    // what the worker does on confirmed loss: the state change, then the cross-replica drop
    await stack.api.services.ds.query(
      `UPDATE workspaces SET key_state = 'shredded', state_version = state_version + 1 WHERE id = $1`,
      [w.wsId],
    );
    await stack.api.services.kekBus.shredWorkspace(w.tenant.id, w.wsId);
    const r = await stack.http.get(w.dekPath('before'), w.svc);
    expect(r.status).toBe(410);
    expect(r.body.error.code).toBe('WORKSPACE_SHREDDED');
    const b = await stack.http.post(
      `/internal/v1/workspaces/${w.wsId}/deks:batchGet`,
      { segmentIds: ['before', 'new'] },
      w.svc,
    );
    expect(b.status).toBe(410);
  });

  it('the audit chain verifies, records the flow and detects a tampered row', async () => {
    const w = await boundWorkspace();
    record((await stack.http.get(w.dekPath('audited'), w.svc)).body.dek);
    stack.api.services.issuance.flush(true);
    const v = await stack.http.get(`${w.base}/audit-events/verification`, w.token);
    expect(v.body).toMatchObject({ ok: true, headHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const page = await stack.http.get(`${w.base}/audit-events?limit=1000`, w.token);
    const actions = page.body.events.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'tenant.created',
        'key_configuration.registered',
        'workspace.created',
        'workspace.bound',
        'service_principal.created',
        'dek.issued',
      ]),
    );
    expect(actions.some((a: string) => a.startsWith('kms.aws.'))).toBe(true);
    expect(page.body.events.length).toBe(v.body.count);
    const paged = await stack.http.get(`${w.base}/audit-events?after=1&limit=2`, w.token);
    expect(paged.body.events.map((e: { seq: number }) => e.seq)).toEqual([2, 3]);
    const more = await stack.http.get(`${w.base}/audit-events?after=1&limit=2&cursor=${paged.body.next}`, w.token);
    expect(more.body.events.map((e: { seq: number }) => e.seq)).toEqual([4, 5]);

    // the application cannot change a row; a superuser with the triggers off can, and verification names the row
    await expect(
      stack.api.services.ds.query(`UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = $1 AND seq = 3`, [
        w.tenant.id,
      ]),
    ).rejects.toThrow(/append-only/);
    await stack.api.services.ds.transaction(async (m) => {
      await m.query(`SET LOCAL session_replication_role = replica`);
      await m.query(`UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = $1 AND seq = 3`, [w.tenant.id]);
    });
    const broken = await stack.http.get(`${w.base}/audit-events/verification`, w.token);
    expect(broken.body).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'modified' });
  });

  it('no plaintext KEK or DEK bytes in any Postgres table, Redis key or log line', async () => {
    const { ds } = stack.api.services;
    // Recover every KEK the flow created, independently: the customer (key owner) decrypts the wrapped KEKs.
    const rows = await ds.query(
      `SELECT tenant_id, workspace_id, version, key_configuration_id, wrapped FROM kek_versions`,
    );
    for (const r of rows) {
      const ctx = contextToMap({
        tenantId: r.tenant_id,
        workspaceId: r.workspace_id,
        keyConfigurationId: r.key_configuration_id,
        kekVersion: r.version,
        purpose: 'workspace-kek',
      });
      try {
        const out = await stack.aws.kms.send(new DecryptCommand({ CiphertextBlob: r.wrapped, EncryptionContext: ctx }));
        keks.push(Buffer.from(out.Plaintext!));
      } catch {
        // disabled keys (revocation test) cannot be decrypted by anyone: nothing to search for
      }
    }
    expect(keks.length).toBeGreaterThan(3);
    expect(issued.length).toBeGreaterThan(20);
    const needles = [...keks, ...issued].flatMap((k) => [
      k.toString('hex'),
      k.toString('base64'),
      k.toString('base64url'),
    ]);
    const rawNeedles = [...keks, ...issued];

    // Postgres: every column of every table, as text (bytea as hex) and raw bytes
    const tables = (
      await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
    ).map((t: { table_name: string }) => t.table_name);
    let pgText = '';
    const pgBytes: Buffer[] = [];
    for (const t of tables) {
      for (const row of await ds.query(`SELECT * FROM "${t}"`)) {
        for (const v of Object.values(row)) {
          if (Buffer.isBuffer(v)) {
            pgBytes.push(v);
            pgText += v.toString('hex');
          } else pgText += `${JSON.stringify(v)}\n`;
        }
      }
    }
    expect(pgText.length).toBeGreaterThan(1000);
    for (const n of needles) expect(pgText.toLowerCase().includes(n.toLowerCase()) ? n : null).toBeNull();
    const allPgBytes = Buffer.concat(pgBytes);
    for (const n of rawNeedles) expect(allPgBytes.includes(n)).toBe(false);

    // Redis: every key under the stack's prefix
    const redis = new Redis(stack.config.redisUrl);
    let redisDump = '';
    try {
      const keys = await redis.keys(`${stack.redisPrefix}*`);
      for (const k of keys) {
        const type = await redis.type(k);
        const v =
          type === 'string'
            ? await redis.getBuffer(k)
            : type === 'hash'
              ? await redis.hgetall(k)
              : type === 'list'
                ? await redis.lrange(k, 0, -1)
                : type === 'set'
                  ? await redis.smembers(k)
                  : type === 'zset'
                    ? await redis.zrange(k, 0, -1)
                    : type === 'stream'
                      ? await redis.xrange(k, '-', '+')
                      : null;
        redisDump += `${k} ${Buffer.isBuffer(v) ? v.toString('latin1') : JSON.stringify(v)}\n`;
      }
    } finally {
      redis.disconnect();
    }
    for (const n of needles) expect(redisDump.includes(n) ? n : null).toBeNull();

    // Logs
    const logs = stack.logs();
    for (const n of needles) expect(logs.includes(n) ? n : null).toBeNull();
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}
