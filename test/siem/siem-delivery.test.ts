import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuditKeys, AuditLog } from '@app/audit';
import { createDataSource } from '@app/persistence';
import { verifySignature } from '@app/siem';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { privateDatabase } from '../support/db';
import { cleanRedisPrefix, startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { startTestWorker } from '../support/worker';
import { hecEvents, jsonLines, TestReceiver, until, webhookEvents } from './receiver';

/**
 * SIEM streaming end to end: the API configures destinations, the worker (in this process) delivers the tenant's
 * audit log to a real HTTP receiver on loopback (allowed by the explicit dev/test setting only).
 */
describe('SIEM streaming', () => {
  let db: { url: string; drop(): Promise<void> };
  let stack: TestStack;
  let worker: RunningWorker;
  let ds: DataSource;
  let audit: AuditLog;

  beforeAll(async () => {
    db = await privateDatabase();
    stack = await startStack({ config: { databaseUrl: db.url }, providerEnv: { KEYHOLD_SIEM_ALLOW_LOOPBACK: 'true' } });
    worker = await startTestWorker(
      { ...stack.config, logLevel: 'silent' },
      {
        schedulers: false,
        siem: {
          pollMs: 100,
          backoffBaseMs: 100,
          backoffCapMs: 400,
          maxFailures: 6,
          batchEvents: 100,
          timeoutMs: 3_000,
        },
      },
    );
    ds = createDataSource(db.url, { poolSize: 2, applicationName: 'siem-test' });
    await ds.initialize();
    audit = new AuditLog(ds, new AuditKeys(stack.config.audit));
  });

  afterAll(async () => {
    await worker?.close();
    await ds?.destroy();
    await stack?.close();
    if (stack) await cleanRedisPrefix(stack);
    await db?.drop();
  });

  const base = (tenantId: string) => `/v1/tenants/${tenantId}/siem-destinations`;
  const append = (tenantId: string, n: number, pad = 0) =>
    audit.appendMany(
      tenantId,
      Array.from({ length: n }, (_, i) => ({
        actor: 'test',
        action: 'test.event',
        target: `thing:${i}`,
        outcome: 'success',
        details: { i, pad: 'x'.repeat(pad) },
      })),
    );
  const headSeq = async (tenantId: string) =>
    Number((await ds.query(`SELECT seq FROM audit_heads WHERE tenant_id = $1`, [tenantId]))[0].seq);

  async function destination(kind = 'webhook', format = 'native', extra: Record<string, unknown> = {}) {
    const t = await tenantWithAdmin(stack);
    const receiver = await new TestReceiver().start();
    const created = await stack.http.post(
      base(t.tenant.id),
      { name: `d-${randomBytes(2).toString('hex')}`, kind, format, url: `${receiver.url}/hook`, ...extra },
      t.token,
    );
    expect(created.status).toBe(201);
    return {
      t,
      receiver,
      id: created.body.destination.id as string,
      secret: created.body.secret as string | undefined,
      created,
    };
  }

  /** Sequence numbers the receiver saw, in arrival order (duplicates included). */
  const seqs = (records: unknown[]) => records.map((r) => (r as { seq: number }).seq);

  it('delivers the tenant audit log to a webhook, signed (timestamp + body) and in order, the secret shown once and never logged', async () => {
    const { t, receiver, id, secret, created } = await destination();
    expect(secret).toMatch(/^khsiem_/);
    expect(created.body.destination).not.toHaveProperty('secret');
    await append(t.tenant.id, 250);
    const head = await headSeq(t.tenant.id);
    await until('all events delivered', () => seqs(receiver.records()).includes(head));
    for (const r of receiver.requests) {
      expect(verifySignature(secret!, r.headers['keyhold-signature'] as string, r.body)).toBe(true);
      expect(verifySignature('another-secret', r.headers['keyhold-signature'] as string, r.body)).toBe(false);
      expect(
        verifySignature(secret!, r.headers['keyhold-signature'] as string, Buffer.concat([r.body, Buffer.from(' ')])),
      ).toBe(false);
    }
    const got = seqs(receiver.records());
    expect(got).toEqual([...got].sort((a, b) => a - b));
    const first = receiver.records()[0] as { id: string; action: string; tenantId: string };
    expect(first.action).toBe('siem_destination.created');
    expect(first.id).toBe(`${t.tenant.id}:${got[0]}`);
    expect(new Set(got).size).toBe(head - got[0] + 1);
    expect(Math.max(...receiver.requests.map((r) => webhookEvents(r).length))).toBeLessThanOrEqual(100);
    // The receiver records a batch before it answers; the cursor moves after the 2xx.
    const view = await until('cursor at head', async () => {
      const v = await stack.http.get(`${base(t.tenant.id)}/${id}`, t.token);
      return v.body.cursorSeq === head ? v : undefined;
    });
    expect(view.body).toMatchObject({ state: 'active', cursorSeq: head, pendingEvents: 0, failures: 0 });
    expect(view.text).not.toContain(secret!);
    const list = await stack.http.get(base(t.tenant.id), t.token);
    expect(list.text).not.toContain(secret!);
    expect(stack.logs()).not.toContain(secret!);
    const stored = await ds.query(`SELECT sealed_secret FROM siem_destinations WHERE id = $1`, [id]);
    expect(stored[0].sealed_secret).not.toContain(secret!.slice(7));
    await receiver.close();
  });

  it('rotates the signing secret: with an overlap both sign, then the old one stops; without, the new one alone signs at once', async () => {
    const { t, receiver, id, secret } = await destination();
    await until('creation delivered', () => receiver.requests.length > 0);
    const deliveredAfter = async (n: number) => {
      await append(t.tenant.id, 3);
      const head = await headSeq(t.tenant.id);
      await until('after rotation', () => seqs(receiver.records()).includes(head));
      return receiver.requests
        .slice(n)
        .map((r) => ({ header: r.headers['keyhold-signature'] as string, body: r.body }));
    };
    const overlapping = await stack.http.post(`${base(t.tenant.id)}/${id}/secret`, { overlapSeconds: 3600 }, t.token);
    expect(overlapping.status).toBe(200);
    expect(overlapping.body.destination.previousSecretExpiresAt).toEqual(expect.any(String));
    const second = overlapping.body.secret as string;
    expect(second).not.toBe(secret);
    for (const r of await deliveredAfter(receiver.requests.length)) {
      expect(r.header).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
      expect(verifySignature(second, r.header, r.body)).toBe(true);
      expect(verifySignature(secret!, r.header, r.body)).toBe(true);
    }
    const rotated = await stack.http.post(`${base(t.tenant.id)}/${id}/secret`, {}, t.token);
    expect(rotated.body.destination.previousSecretExpiresAt).toBeNull();
    const third = rotated.body.secret as string;
    for (const r of await deliveredAfter(receiver.requests.length)) {
      expect(verifySignature(third, r.header, r.body)).toBe(true);
      expect(verifySignature(second, r.header, r.body)).toBe(false);
      expect(verifySignature(secret!, r.header, r.body)).toBe(false);
    }
    expect(
      (await stack.http.post(`${base(t.tenant.id)}/${id}/secret`, { overlapSeconds: 8 * 86_400 }, t.token)).status,
    ).toBe(400);
    expect(stack.logs()).not.toContain(second);
    expect(stack.logs()).not.toContain(third);
    await receiver.close();
  });

  it('Splunk HEC with OCSF fields: the token as "Authorization: Splunk", /services/collector/event batches, a dedup id on every event', async () => {
    const t = await tenantWithAdmin(stack);
    const receiver = await new TestReceiver().start();
    const token = `hec-${randomBytes(8).toString('hex')}`;
    const created = await stack.http.post(
      base(t.tenant.id),
      { name: 'splunk', kind: 'splunk-hec', format: 'ocsf', url: receiver.url, token },
      t.token,
    );
    expect(created.status).toBe(201);
    expect(created.body.secret).toBeUndefined();
    expect(created.body.destination.url).toBe(`${receiver.url}/services/collector/event`);
    expect(created.text).not.toContain(token);
    await stack.http.post(`/v1/tenants/${t.tenant.id}/workspaces`, { name: 'w1' }, t.token);
    const head = await headSeq(t.tenant.id);
    await until(
      'HEC events',
      () =>
        hecEvents.length &&
        receiver.requests
          .flatMap(hecEvents)
          .some((e) => (e as { event: { metadata: { sequence: number } } }).event.metadata.sequence === head),
    );
    for (const r of receiver.requests) {
      expect(r.path).toBe('/services/collector/event');
      expect(r.headers.authorization).toBe(`Splunk ${token}`);
    }
    const events = receiver.requests.flatMap(hecEvents) as Array<{
      sourcetype: string;
      fields: { keyhold_id: string };
      event: Record<string, any>;
    }>;
    const created0 = events.find((e) => e.event.message === 'siem_destination.created')!;
    expect(created0.sourcetype).toBe('ocsf');
    expect(created0.event).toMatchObject({
      class_uid: 6003,
      activity_id: 1,
      type_uid: 600301,
      status_id: 1,
      metadata: { version: '1.1.0', tenant_uid: t.tenant.id },
    });
    expect(created0.fields.keyhold_id).toBe(created0.event.metadata.uid);
    const ws = events.find((e) => e.event.message === 'workspace.created')!;
    expect(ws.event).toMatchObject({
      class_uid: 6003,
      activity_name: 'Create',
      api: { operation: 'workspace.created' },
    });
    expect(stack.logs()).not.toContain(token);
    await receiver.close();
  });

  it('JSON lines with CEF: one CEF record per line, the dedup id as externalId', async () => {
    const { t, receiver } = await destination('jsonl', 'cef');
    await append(t.tenant.id, 5);
    const head = await headSeq(t.tenant.id);
    await until('CEF lines', () =>
      receiver.records(jsonLines).some((l) => String(l).includes(`externalId=${t.tenant.id}:${head} `)),
    );
    expect(receiver.requests[0].headers['content-type']).toBe('application/x-ndjson');
    for (const line of receiver.records(jsonLines))
      expect(String(line)).toMatch(/^CEF:0\|Keyhold\|Keyhold\|1\|[^|]+\|[^|]+\|\d\|externalId=/);
    await receiver.close();
  });

  it('a receiver outage: failures are shown, then delivery resumes with nothing lost and order kept', async () => {
    const { t, receiver, id } = await destination();
    await until('creation delivered', () => receiver.requests.length > 0);
    receiver.status = 503;
    await append(t.tenant.id, 120);
    await until(
      'a failure recorded',
      async () => (await stack.http.get(`${base(t.tenant.id)}/${id}`, t.token)).body.failures > 0,
    );
    const during = (await stack.http.get(`${base(t.tenant.id)}/${id}`, t.token)).body;
    expect(during.lastError).toBe('receiver answered HTTP 503');
    expect(during.pendingEvents).toBeGreaterThan(0);
    receiver.status = 200;
    const head = await headSeq(t.tenant.id);
    await until(
      'caught up',
      async () => (await stack.http.get(`${base(t.tenant.id)}/${id}`, t.token)).body.cursorSeq === head,
    );
    const accepted = seqs(receiver.records());
    const firstSeen = accepted.filter((s, i) => accepted.indexOf(s) === i);
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    expect(new Set(accepted).size).toBe(head - firstSeen[0] + 1);
    await receiver.close();
  });

  it('dead-letters after repeated failures, shows it, and "retry" delivers everything from the cursor', async () => {
    const { t, receiver, id } = await destination();
    await until('creation delivered', () => receiver.requests.length > 0);
    receiver.status = 500;
    await append(t.tenant.id, 30);
    const dead = await until('dead letter', async () => {
      const b = (await stack.http.get(`${base(t.tenant.id)}/${id}`, t.token)).body;
      return b.state === 'dead_letter' ? b : undefined;
    });
    expect(dead.failures).toBe(6);
    expect(dead.deadLetteredAt).toEqual(expect.any(String));
    const metrics = await (await fetch(`${worker.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/keyhold_siem_dead_letters [1-9]/);
    expect(metrics).toMatch(/keyhold_siem_lag_seconds \d/);
    receiver.status = 200;
    const auditor = await stack.http.post(`${base(t.tenant.id)}/${id}/retry`, {}, t.token);
    expect(auditor.status).toBe(200);
    expect(auditor.body.destination.state).toBe('active');
    const head = await headSeq(t.tenant.id);
    await until('delivered after retry', () => seqs(receiver.records()).includes(head));
    const accepted = seqs(receiver.records());
    expect(new Set(accepted).size).toBe(head - accepted[0] + 1);
    await receiver.close();
  });

  it('a slow receiver: batches stay within the event and byte bounds and nothing is lost', async () => {
    const { t, receiver } = await destination();
    receiver.delayMs = 150;
    await append(t.tenant.id, 400, 2_000);
    const head = await headSeq(t.tenant.id);
    await until('slow delivery', () => seqs(receiver.records()).includes(head), 60_000);
    for (const r of receiver.requests) {
      expect(webhookEvents(r).length).toBeLessThanOrEqual(100);
      expect(r.body.length).toBeLessThanOrEqual(1024 * 1024);
    }
    expect(receiver.requests.length).toBeGreaterThanOrEqual(4);
    await receiver.close();
  });

  it('destinations are per tenant: another tenant cannot see, change or receive them, and its events never reach them', async () => {
    const a = await destination();
    const b = await destination();
    for (const [method, path] of [
      ['GET', `${base(b.t.tenant.id)}/${a.id}`],
      ['DELETE', `${base(b.t.tenant.id)}/${a.id}`],
      ['POST', `${base(b.t.tenant.id)}/${a.id}/retry`],
      ['POST', `${base(b.t.tenant.id)}/${a.id}/secret`],
      ['GET', `${base(a.t.tenant.id)}/${a.id}`],
      ['GET', base(a.t.tenant.id)],
    ] as const) {
      const r = await stack.http.request(method, path, { token: b.t.token, body: method === 'POST' ? {} : undefined });
      expect([path, r.status]).toEqual([path, 404]);
    }
    expect(
      (await stack.http.get(base(b.t.tenant.id), b.t.token)).body.destinations.map((d: { id: string }) => d.id),
    ).toEqual([b.id]);
    await append(b.t.tenant.id, 20);
    await append(a.t.tenant.id, 1);
    const headA = await headSeq(a.t.tenant.id);
    const headB = await headSeq(b.t.tenant.id);
    await until(
      'both delivered',
      () => seqs(a.receiver.records()).includes(headA) && seqs(b.receiver.records()).includes(headB),
    );
    expect(new Set(a.receiver.records().map((e) => (e as { tenantId: string }).tenantId))).toEqual(
      new Set([a.t.tenant.id]),
    );
    expect(new Set(b.receiver.records().map((e) => (e as { tenantId: string }).tenantId))).toEqual(
      new Set([b.t.tenant.id]),
    );
    await a.receiver.close();
    await b.receiver.close();
  });

  it('refuses internal and metadata addresses, plain http to the internet, user info, and tokens where they do not belong', async () => {
    const t = await tenantWithAdmin(stack);
    for (const url of [
      'https://169.254.169.254/latest/meta-data',
      'https://10.0.0.8/hook',
      'https://192.168.1.1/hook',
      'https://[fd00::1]/hook',
      'https://[::ffff:169.254.169.254]/hook',
      'https://0x7f000001/hook',
      'http://siem.example.com/hook',
      'https://user:pw@siem.example.com/hook',
      'ftp://siem.example.com/',
    ]) {
      const r = await stack.http.post(base(t.tenant.id), { name: 'bad', kind: 'webhook', url }, t.token);
      expect([url, r.status, r.body.error.code]).toEqual([url, 400, 'INVALID_IDENTIFIER']);
    }
    const bad = await stack.http.post(
      base(t.tenant.id),
      { name: 'x', kind: 'webhook', url: 'https://siem.example.com/', token: 'abcdefghij' },
      t.token,
    );
    expect(bad.status).toBe(400);
    const noToken = await stack.http.post(
      base(t.tenant.id),
      { name: 'x', kind: 'splunk-hec', url: 'https://siem.example.com/' },
      t.token,
    );
    expect(noToken.body.error.code).toBe('VALIDATION_FAILED');
    const hec = await stack.http.post(
      base(t.tenant.id),
      { name: 'hec', kind: 'splunk-hec', url: 'https://siem.example.com/', token: 'hec-token-123456' },
      t.token,
    );
    const overlap = await stack.http.post(
      `${base(t.tenant.id)}/${hec.body.destination.id}/secret`,
      { token: 'hec-token-654321', overlapSeconds: 60 },
      t.token,
    );
    expect([overlap.status, overlap.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
