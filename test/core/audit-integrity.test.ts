import type { DataSource } from 'typeorm';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';

/**
 * The audit log against a database insider and against database faults: tampering a superuser can still do (with
 * the append-only triggers switched off for their session) is caught by verification; the application's own
 * connection cannot change or remove audit rows at all; an action whose audit event cannot be written does not
 * happen; DEK issuance counts survive a failed flush.
 */
describe('audit integrity', () => {
  let stack: TestStack;
  let ds: DataSource;

  beforeAll(async () => {
    stack = await startStack();
    ds = stack.api.services.ds;
  });
  afterAll(async () => stack?.close());

  /** What a superuser insider does: triggers off for the session (session_replication_role), then raw SQL. */
  async function asInsider(sql: string, params: unknown[]) {
    await ds.transaction(async (m) => {
      await m.query(`SET LOCAL session_replication_role = replica`);
      await m.query(sql, params);
    });
  }

  async function tenantWithEvents(n = 4) {
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    for (let i = 0; i < n; i++)
      expect((await stack.http.post(`${base}/workspaces`, { name: `w${i}` }, t.token)).status).toBe(201);
    return { ...t, base, tenantId: t.tenant.id };
  }

  const verification = async (t: { base: string; token: string }) =>
    (await stack.http.get(`${t.base}/audit-events/verification`, t.token)).body;

  it('deleting the last events and rewinding the head is detected', async () => {
    const t = await tenantWithEvents();
    await stack.http.post(`${t.base}/audit-events/checkpoints`, {}, t.token);
    const last = Number(
      (await ds.query(`SELECT max(seq)::int AS n FROM audit_events WHERE tenant_id = $1`, [t.tenantId]))[0].n,
    );
    await asInsider(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq > $2`, [t.tenantId, last - 2]);
    await asInsider(
      `UPDATE audit_heads h SET seq = e.seq, hash = e.hash FROM audit_events e WHERE h.tenant_id = $1 AND e.tenant_id = $1 AND e.seq = $2`,
      [t.tenantId, last - 2],
    );
    expect(await verification(t)).toMatchObject({ ok: false, firstBadSeq: last - 1 });
  });

  it('deleting the head row is detected', async () => {
    const t = await tenantWithEvents();
    await asInsider(`DELETE FROM audit_heads WHERE tenant_id = $1`, [t.tenantId]);
    expect(await verification(t)).toMatchObject({ ok: false, reason: 'head_missing' });
  });

  it("the application's connection cannot update, delete or truncate audit rows", async () => {
    const t = await tenantWithEvents(1);
    await expect(
      ds.query(`UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = $1`, [t.tenantId]),
    ).rejects.toThrow(/append-only/);
    await expect(ds.query(`DELETE FROM audit_events WHERE tenant_id = $1`, [t.tenantId])).rejects.toThrow(
      /append-only/,
    );
    await expect(ds.query(`DELETE FROM audit_heads WHERE tenant_id = $1`, [t.tenantId])).rejects.toThrow(/append-only/);
    await expect(ds.query(`UPDATE audit_heads SET seq = 1 WHERE tenant_id = $1`, [t.tenantId])).rejects.toThrow(
      /append-only/,
    );
    await expect(ds.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
    expect(await verification(t)).toMatchObject({ ok: true });
  });

  it('an admin action whose audit event cannot be written does not happen', async () => {
    const t = await tenantWithEvents(1);
    // A database fault confined to this tenant's audit inserts.
    const fn = `fail_audit_${t.tenantId.replace(/-/g, '')}`;
    await ds.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.tenant_id = '${t.tenantId}' THEN RAISE EXCEPTION 'injected audit failure'; END IF; RETURN NEW; END $$`);
    await ds.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    let res;
    try {
      res = await stack.http.post(`${t.base}/workspaces`, { name: 'unaudited' }, t.token);
    } finally {
      await ds.query(`DROP TRIGGER ${fn} ON audit_events`);
      await ds.query(`DROP FUNCTION ${fn}()`);
    }
    expect(res.status).toBe(500);
    const ws = await ds.query(`SELECT count(*)::int AS n FROM workspaces WHERE tenant_id = $1 AND name = 'unaudited'`, [
      t.tenantId,
    ]);
    expect(ws[0].n).toBe(0);
    expect(await verification(t)).toMatchObject({ ok: true });
  });

  it('a failed flush of DEK issuance counts is retried, never dropped', async () => {
    const t = await tenantWithEvents(1);
    const { auditBuffer } = stack.api.services;
    const fn = `fail_flush_${t.tenantId.replace(/-/g, '')}`;
    await ds.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.tenant_id = '${t.tenantId}' THEN RAISE EXCEPTION 'injected audit failure'; END IF; RETURN NEW; END $$`);
    await ds.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      for (let i = 0; i < 3; i++) {
        stack.api.services.issuance.count(t.tenantId, 'p', 'w', 5);
        stack.api.services.issuance.flush(true);
        await auditBuffer.flush().catch(() => undefined);
      }
    } finally {
      await ds.query(`DROP TRIGGER ${fn} ON audit_events`);
      await ds.query(`DROP FUNCTION ${fn}()`);
    }
    await auditBuffer.flush();
    const rows = await ds.query(`SELECT details FROM audit_events WHERE tenant_id = $1 AND action = 'dek.issued'`, [
      t.tenantId,
    ]);
    expect(rows.reduce((s: number, r: { details: { count: number } }) => s + r.details.count, 0)).toBe(15);
  });

  // Last in the file: a second stack in this process takes over the process-wide passport strategies.
  it('a checkpoint is signed by the timer once the log grows, and on demand; a tampered log is not signed', async () => {
    const fast = await startStack({ config: { auditCheckpointIntervalSeconds: 1 } });
    try {
      const t = await tenantWithAdmin(fast);
      const base = `/v1/tenants/${t.tenant.id}`;
      await fast.http.post(`${base}/workspaces`, { name: 'sealed' }, t.token);
      const head = Number(
        (await ds.query(`SELECT seq::int AS n FROM audit_heads WHERE tenant_id = $1`, [t.tenant.id]))[0].n,
      );
      const until = Date.now() + 10_000;
      let page;
      do {
        await new Promise((r) => setTimeout(r, 200));
        page = (await fast.http.get(`${base}/audit-events/checkpoints`, t.token)).body;
      } while (page.checkpoints.at(-1)?.seq !== head && Date.now() < until);
      expect(page.checkpoints.at(-1)).toMatchObject({
        tenantId: t.tenant.id,
        seq: head,
        keyId: expect.stringMatching(/^ed25519:[0-9a-f]{16}$/),
      });
      const keys = (await fast.http.get('/v1/audit/public-keys')).body.keys;
      expect(keys).toEqual([
        expect.objectContaining({ keyId: page.checkpoints[0].keyId, algorithm: 'Ed25519', current: true }),
      ]);

      await fast.http.post(`${base}/workspaces`, { name: 'sealed-on-demand' }, t.token);
      const now = await fast.http.post(`${base}/audit-events/checkpoints`, {}, t.token);
      expect(now.status).toBe(200);
      expect(now.body.checkpoint.seq).toBe(head + 1);

      await fast.http.post(`${base}/workspaces`, { name: 'tampered' }, t.token);
      await asInsider(`UPDATE audit_events SET actor = 'admin:mallory' WHERE tenant_id = $1 AND seq = $2`, [
        t.tenant.id,
        head + 2,
      ]);
      const refused = await fast.http.post(`${base}/audit-events/checkpoints`, {}, t.token);
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('AUDIT_LOG_TAMPERED');
      expect((await fast.http.get(`${base}/audit-events/checkpoints`, t.token)).body.checkpoints.at(-1).seq).toBe(
        head + 1,
      );
    } finally {
      await fast.close();
    }
  });
});
