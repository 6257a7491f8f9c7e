import { randomUUID } from 'node:crypto';
import { auditListStatement, AuditRecord } from '@app/audit';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';

interface Ev {
  seq: number;
  action: string;
  actor: string;
  target: string;
}
interface Page {
  status: number;
  body: { events: Ev[]; next: string | null; error?: { code: string } };
}

/**
 * GET …/audit-events: filters (action and action prefix, actor, workspace, time), oldest or newest first, sealed
 * keyset cursors by sequence number, bad parameters, tenant isolation, and the plans of filtered pages on a big log.
 */
describe('audit events list', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  const day = (d: number) => new Date(Date.UTC(2026, 0, d));
  const append = (tenantId: string, records: AuditRecord[]) => stack.api.services.audit.appendMany(tenantId, records);

  async function tenantWithEvents() {
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    const w1 = randomUUID();
    const w2 = randomUUID();
    const admin = 'admin:00000000-0000-4000-8000-000000000001';
    const sp = `service_principal:${randomUUID()}`;
    await append(t.tenant.id, [
      { actor: admin, action: 'workspace.created', target: `workspace:${w1}`, outcome: 'success', at: day(1) },
      { actor: sp, action: 'dek.issued', target: `workspace:${w1}`, outcome: 'success', at: day(2) },
      {
        actor: 'system',
        action: 'kms.aws.decrypt',
        target: 'arn:aws:kms:eu-west-1:111122223333:key/k',
        outcome: 'success',
        details: { workspaceId: w2 },
        at: day(3),
      },
      { actor: admin, action: 'workspace.bound', target: `workspace:${w2}`, outcome: 'success', at: day(4) },
      { actor: sp, action: 'dek.access_denied', target: `workspace:${w2}`, outcome: 'denied', at: day(5) },
      {
        actor: admin,
        action: 'key_configuration.registered',
        target: 'key_configuration:x',
        outcome: 'success',
        at: day(6),
      },
      // `_` is a LIKE wildcard: the prefix `key_configuration.` must not match this one.
      { actor: admin, action: 'keyXconfiguration.odd', target: 'other', outcome: 'success', at: day(7) },
    ]);
    const list = async (query: string, token = t.token): Promise<Page> =>
      stack.http.get(`${base}/audit-events?${query}`, token);
    const actions = async (query: string) => {
      const r = await list(query);
      expect([query, r.status]).toEqual([query, 200]);
      return r.body.events.map((e) => e.action);
    };
    return { t, base, w1, w2, admin, sp, list, actions };
  }

  it('filters by action and action prefix, actor, workspace and time range, in either order', async () => {
    const { w1, w2, sp, admin, list, actions } = await tenantWithEvents();
    expect(await actions('action=dek.')).toEqual(['dek.issued', 'dek.access_denied']);
    expect(await actions('action=workspace.created,kms.')).toEqual(['workspace.created', 'kms.aws.decrypt']);
    expect(await actions('action=workspace.bound&action=dek.issued')).toEqual(['dek.issued', 'workspace.bound']);
    expect(await actions('action=key_configuration.')).toEqual(['key_configuration.registered']);
    expect(await actions('action=dek.issued')).toEqual(['dek.issued']);
    expect(await actions(`actor=${encodeURIComponent(sp)}`)).toEqual(['dek.issued', 'dek.access_denied']);
    expect(await actions(`actor=${encodeURIComponent(admin)}&action=workspace.`)).toEqual([
      'workspace.created',
      'workspace.bound',
    ]);
    // A workspace's events: the admin events naming it and the provider calls made for it.
    expect(await actions(`workspaceId=${w2}`)).toEqual(['kms.aws.decrypt', 'workspace.bound', 'dek.access_denied']);
    expect(await actions(`workspaceId=${w2.toUpperCase()}&order=desc`)).toEqual([
      'dek.access_denied',
      'workspace.bound',
      'kms.aws.decrypt',
    ]);
    expect(await actions(`workspaceId=${w1}&action=dek.`)).toEqual(['dek.issued']);
    // from inclusive, to exclusive; any zone offset.
    expect(await actions('from=2026-01-02T00:00:00Z&to=2026-01-04T00:00:00Z')).toEqual([
      'dek.issued',
      'kms.aws.decrypt',
    ]);
    expect(await actions('from=2026-01-02T01:00:00%2B01:00&to=2026-01-03T00:00:00.001Z')).toEqual([
      'dek.issued',
      'kms.aws.decrypt',
    ]);
    expect(await actions('to=2026-01-02T00:00:00Z')).toEqual(['workspace.created']);
    // Default: oldest first, from the tenant's creation; newest first on request.
    const all = (await list('limit=1000')).body.events;
    expect(all[0].action).toBe('tenant.created');
    expect(all.map((e) => e.seq)).toEqual([...all.map((e) => e.seq)].sort((a, b) => a - b));
    const desc = (await list('order=desc&limit=1000')).body.events;
    expect(desc.map((e) => e.seq)).toEqual(all.map((e) => e.seq).reverse());
    // `after` (clients that paged by number) is a lower bound on the sequence number, in either order.
    const bound = all.find((e) => e.action === 'kms.aws.decrypt')!.seq;
    expect(await actions(`after=${bound}&action=dek.,workspace.`)).toEqual(['workspace.bound', 'dek.access_denied']);
    expect(await actions(`after=${bound}&action=dek.,workspace.&order=desc`)).toEqual([
      'dek.access_denied',
      'workspace.bound',
    ]);
    expect(await actions(`workspaceId=${randomUUID()}`)).toEqual([]);
  });

  it('pages with sealed cursors in both orders while events are appended between pages, none skipped or repeated', async () => {
    const { t, sp, list } = await tenantWithEvents();
    const dek = (n: number): AuditRecord[] =>
      Array.from({ length: n }, () => ({ actor: sp, action: 'dek.issued', target: 'workspace:w', outcome: 'success' }));
    const noise = (n: number): AuditRecord[] =>
      Array.from({ length: n }, () => ({
        actor: 'system',
        action: 'kms.aws.encrypt',
        target: 'k',
        outcome: 'success',
      }));
    await append(t.tenant.id, [...dek(3), ...noise(2), ...dek(2)]);

    async function walk(order: 'asc' | 'desc', between: () => Promise<unknown>) {
      const seqs: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Page = await list(`action=dek.&order=${order}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status).toBe(200);
        expect(r.body.events.every((e) => e.action.startsWith('dek.'))).toBe(true);
        seqs.push(...r.body.events.map((e) => e.seq));
        cursor = r.body.next;
        if (pages++ === 0) await between();
      } while (cursor);
      return { seqs, pages };
    }

    // Oldest first: what is appended after page 1 is read at the end.
    const before = (await list('action=dek.&limit=1000')).body.events.map((e) => e.seq);
    const asc = await walk('asc', () => append(t.tenant.id, [...noise(1), ...dek(4)]));
    const after = (await list('action=dek.&limit=1000')).body.events.map((e) => e.seq);
    expect(after.length).toBe(before.length + 4);
    expect(asc.seqs).toEqual(after);
    expect(asc.pages).toBe(Math.ceil(after.length / 3));

    // Newest first: what is appended after page 1 is newer than the cursor and not read; nothing older is skipped.
    const desc = await walk('desc', () => append(t.tenant.id, dek(2)));
    expect(desc.seqs).toEqual([...after].reverse());
    expect(new Set(desc.seqs).size).toBe(desc.seqs.length);
  });

  it('answers 400 with a code for bad parameters and for a cursor of another list, order or filter', async () => {
    const { list, w1 } = await tenantWithEvents();
    const bad = [
      'action=DEK',
      'action=dek..issued',
      'action=dek%25',
      `action=${Array.from({ length: 21 }, (_, i) => `a${i}`).join(',')}`,
      'actor=',
      'workspaceId=nope',
      'from=yesterday',
      'from=2026-01-01',
      'to=2026-01-01T00:00:00',
      'from=2026-01-05T00:00:00Z&to=2026-01-01T00:00:00Z',
      'from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      'order=newest',
      'limit=0',
      'limit=1001',
      'limit=ten',
      'after=-1',
      'after=x',
      'other=1',
    ];
    for (const q of bad) {
      const r = await list(q);
      expect([q, r.status, r.body.error?.code]).toEqual([q, 400, 'VALIDATION_FAILED']);
    }
    const first = await list('action=dek.,workspace.&limit=1');
    expect(first.body.next).toEqual(expect.any(String));
    const cursor = first.body.next!;
    expect((await list(`action=dek.,workspace.&limit=1&cursor=${cursor}`)).status).toBe(200);
    for (const q of [
      'cursor=%%%',
      'cursor=bm9wZQ',
      `action=dek.&cursor=${cursor}`,
      `action=dek.,workspace.&order=desc&cursor=${cursor}`,
      `action=dek.,workspace.&workspaceId=${w1}&cursor=${cursor}`,
      `action=dek.,workspace.&from=2026-01-01T00:00:00Z&cursor=${cursor}`,
      `action=dek.,workspace.&after=1&cursor=${cursor}`,
    ]) {
      const r = await list(q);
      expect([q, r.status, r.body.error?.code]).toEqual([q, 400, 'INVALID_CURSOR']);
    }
  });

  it("keeps tenants apart: another tenant's path is a 404, its cursors and workspace ids find nothing", async () => {
    const a = await tenantWithEvents();
    const b = await tenantWithEvents();
    expect((await a.list('limit=1', b.t.token)).status).toBe(404);
    const cursor = (await a.list('action=dek.&limit=1')).body.next!;
    const replay = await b.list(`action=dek.&limit=1&cursor=${cursor}`);
    expect([replay.status, replay.body.error?.code]).toEqual([400, 'INVALID_CURSOR']);
    expect(await b.actions(`workspaceId=${a.w1}`)).toEqual([]);
    expect(await b.actions(`actor=${encodeURIComponent(a.sp)}`)).toEqual([]);
    // The tamper-evidence routes are untouched: both logs verify.
    for (const x of [a, b]) {
      await stack.api.services.audit.drain();
      expect((await stack.http.post(`${x.base}/audit-events/checkpoints`, {}, x.t.token)).status).toBe(200);
      const v = await stack.http.get(`${x.base}/audit-events/verification`, x.t.token);
      expect(v.body).toMatchObject({ ok: true });
    }
  });

  it('reads a filtered page of a big log through the filter indexes, not by walking the tenant (EXPLAIN)', async () => {
    const t = await tenantWithAdmin(stack);
    const ds = stack.api.services.ds;
    const n = 60_000;
    // Raw rows (the chain is not what this test is about): mostly DEK issuance and provider calls over 500
    // workspaces and 10 principals, a handful of admin events by one admin.
    await ds.query(
      `INSERT INTO audit_events (tenant_id, seq, at, actor, action, target, outcome, details, prev_hash, hash, mac)
       SELECT $1, 1000 + i, timestamptz '2026-01-01' + i * interval '1 second',
              CASE WHEN i % 3000 = 0 THEN 'admin:rare' ELSE 'service_principal:' || (i % 10) END,
              CASE WHEN i % 3000 = 0 THEN 'workspace.bound' WHEN i % 2 = 0 THEN 'dek.issued' ELSE 'kms.aws.decrypt' END,
              CASE WHEN i % 2 = 0 THEN 'workspace:' || md5((i % 500)::text)::uuid ELSE 'arn:k' END,
              'success',
              CASE WHEN i % 2 = 1 THEN jsonb_build_object('workspaceId', md5((i % 500)::text)::uuid) ELSE '{}'::jsonb END,
              'p', 'h', NULL
       FROM generate_series(1, $2::int) AS i`,
      [t.tenant.id, n],
    );
    await ds.query(`ANALYZE audit_events`);
    const [{ ws }] = await ds.query<Array<{ ws: string }>>(`SELECT md5('7')::uuid::text AS ws`);

    const cases: Array<[string, Parameters<typeof auditListStatement>[1], string]> = [
      [
        'rare action prefix',
        { filter: { actionPrefixes: ['workspace.'] }, order: 'desc', limit: 50 },
        'audit_events_action_idx',
      ],
      ['one actor', { filter: { actor: 'admin:rare' }, order: 'asc', limit: 50 }, 'audit_events_actor_idx'],
      [
        'one workspace',
        { filter: { workspaceId: ws }, order: 'desc', limit: 50, last: 50_000 },
        'audit_events_workspace_idx',
      ],
      [
        'one hour',
        {
          filter: { from: new Date('2026-01-01T05:00:00Z'), to: new Date('2026-01-01T06:00:00Z') },
          order: 'asc',
          limit: 50,
        },
        'audit_events_at_idx',
      ],
    ];
    for (const [what, q, index] of cases) {
      const { text, params } = auditListStatement(t.tenant.id, q);
      const [plan] = await ds.query<Array<{ 'QUERY PLAN': unknown }>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params);
      const json = JSON.stringify(plan['QUERY PLAN']);
      expect([what, json.includes(index)]).toEqual([what, true]);
      expect([what, json.includes('Seq Scan')]).toEqual([what, false]);
      // Rows the scans read: the matching events (or the hour), never the tenant's 60,000.
      const read = [...json.matchAll(/"Actual Rows":(\d+)/g)].map((m) => Number(m[1]));
      expect([what, Math.max(...read) < 5_000]).toEqual([what, true]);
    }
    // The route answers the same filters.
    const r = await stack.http.get(
      `/v1/tenants/${t.tenant.id}/audit-events?workspaceId=${ws}&order=desc&limit=5`,
      t.token,
    );
    expect(r.status).toBe(200);
    expect(r.body.events).toHaveLength(5);
  });
});
