import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import Redis from 'ioredis';
import { ApiApp } from '../../apps/api/src/app';
import { startApi } from '../../stack';
import { awsBoundWorkspace, HttpClient, startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { inviteUser } from '../../apps/api/src/dev/onboarding-client';

/**
 * Segment-level crypto-shred (right to be forgotten at the DEK layer): a service principal holding `dek:destroy`
 * or a key admin destroys one segment's DEK; afterwards every replica answers 410 SEGMENT_DESTROYED, the id is
 * never reissued (not even by a create racing the destroy), and the DEK's bytes are nowhere: rows, Redis, logs,
 * the replicas' caches.
 */
describe('segment-level shred', () => {
  let stack: TestStack;
  let replica2: ApiApp;
  let http2: HttpClient;
  const logs2: string[] = [];

  beforeAll(async () => {
    stack = await startStack();
    // A second API replica over the same database, Redis prefix, token secret and emulators.
    replica2 = await startApi(stack.config, {
      logDestination: new Writable({
        write(chunk, _enc, cb) {
          logs2.push(String(chunk));
          cb();
        },
      }),
    });
    http2 = new HttpClient(replica2.url, replica2.internalUrl);
  });
  afterAll(async () => {
    await replica2?.close();
    await stack?.close();
  });

  async function boundWorkspace() {
    const w = await awsBoundWorkspace(stack);
    return { ...w, adminPath: (seg: string) => `${w.base}/workspaces/${w.wsId}/segments/${encodeURIComponent(seg)}` };
  }

  const wrappedOf = async (wsId: string, seg: string): Promise<Buffer | undefined> =>
    (
      await stack.api.services.ds.query(`SELECT wrapped FROM deks WHERE workspace_id = $1 AND segment_id = $2`, [
        wsId,
        seg,
      ])
    )[0]?.wrapped;

  async function until410(http: HttpClient, path: string, token: string, timeoutMs = 3_000): Promise<number> {
    const started = Date.now();
    for (;;) {
      const r = await http.get(path, token);
      if (r.status === 410) {
        expect(r.body.error.code).toBe('SEGMENT_DESTROYED');
        return Date.now() - started;
      }
      if (Date.now() - started > timeoutMs) throw new Error(`still ${r.status} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  it('service principals get DEK fetch only by default; dek:destroy is granted by the key admin', async () => {
    const w = await boundWorkspace();
    const plain = await w.principal();
    expect(plain.permissions).toEqual(['dek:fetch']);
    expect((await stack.http.get(w.dekPath('p1'), plain.token)).status).toBe(200);
    const refused = await stack.http.delete(w.dekPath('p1'), plain.token);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect((await stack.http.get(w.dekPath('p1'), plain.token)).status).toBe(200);

    // the key admin grants it afterwards (its own route); an auditor cannot
    const grant = await stack.http.put(
      `${w.base}/service-principals/${plain.id}/permissions`,
      { permissions: ['dek:fetch', 'dek:destroy'] },
      w.token,
    );
    expect(grant.status).toBe(200);
    expect(grant.body.permissions).toEqual(['dek:destroy', 'dek:fetch']);
    const bad = await stack.http.put(
      `${w.base}/service-principals/${plain.id}/permissions`,
      { permissions: ['dek:everything'] },
      w.token,
    );
    expect(bad.status).toBe(400);
    expect((await stack.http.delete(w.dekPath('p1'), plain.token)).status).toBe(204);
    expect((await stack.http.get(w.dekPath('p1'), plain.token)).status).toBe(410);
  });

  it('a destroyed segment answers 410 on both replicas, single and batch, and is never reissued', async () => {
    const w = await boundWorkspace();
    const destroyer = await w.principal(['dek:fetch', 'dek:destroy']);
    const reader = await w.principal();
    const seg = 'customer-42/profile';
    // both replicas have the DEK cached (warm path)
    const a = await stack.http.get(w.dekPath(seg), reader.token);
    const b = await http2.get(w.dekPath(seg), reader.token);
    expect(a.status).toBe(200);
    expect(b.body.dek).toBe(a.body.dek);
    expect((await http2.get(w.dekPath(seg), reader.token)).body.dek).toBe(a.body.dek);
    const wrapped = (await wrappedOf(w.wsId, seg))!;
    expect(wrapped.length).toBe(60);

    const del = await stack.http.delete(w.dekPath(seg), destroyer.token);
    expect(del.status).toBe(204);
    const bound1 = await until410(stack.http, w.dekPath(seg), reader.token);
    const bound2 = await until410(http2, w.dekPath(seg), reader.token);
    expect(bound1).toBeLessThan(1000);
    expect(bound2).toBeLessThan(1000);
    for (const h of [stack.http, http2]) {
      const batch = await h.post(w.batchPath, { segmentIds: ['fresh-1', seg] }, reader.token);
      expect(batch.status).toBe(410);
      expect(batch.body.error.code).toBe('SEGMENT_DESTROYED');
    }
    // a second destroy is idempotent (still gone), and the id stays dead on both replicas
    expect((await http2.delete(w.dekPath(seg), destroyer.token)).status).toBe(204);
    const rows = await stack.api.services.ds.query(
      `SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1 AND segment_id = $2`,
      [w.wsId, seg],
    );
    expect(rows[0].n).toBe(0);
    const tomb = await stack.api.services.ds.query(
      `SELECT segment_id, destroyed_by, destroyed_at FROM segment_tombstones WHERE workspace_id = $1`,
      [w.wsId],
    );
    expect(tomb).toHaveLength(1);
    expect(tomb[0].destroyed_by).toBe(`service:${destroyer.id}`);
    // neither replica's cache holds the wrapped row any more
    expect(stack.api.services.deks.cachedSegment(w.wsId, seg)).toBe(false);
    expect(replica2.services.deks.cachedSegment(w.wsId, seg)).toBe(false);

    // audited with who and which segment; counted per principal
    const audit = await stack.http.get(`${w.base}/audit-events?limit=1000`, w.token);
    const ev = audit.body.events.filter((e: { action: string }) => e.action === 'segment.destroyed');
    // both destroys are audited; only the first deleted a DEK
    expect(ev).toHaveLength(2);
    expect(ev.map((e: { actor: string }) => e.actor)).toEqual([`service:${destroyer.id}`, `service:${destroyer.id}`]);
    expect(ev[0].target).toBe(`workspace:${w.wsId}`);
    expect(ev[0].details).toEqual({ segmentId: seg, dekDeleted: true, firstDestroy: true });
    expect(ev[1].details).toEqual({ segmentId: seg, dekDeleted: false, firstDestroy: false });
    const metrics = await stack.http.get('/metrics');
    expect(metrics.text).toContain(
      `keyhold_segment_destroys_total{principal="service:${destroyer.id}",outcome="destroyed"} 1`,
    );
  });

  it('the key admin route destroys a segment; auditors and other tenants cannot', async () => {
    const w = await boundWorkspace();
    const reader = await w.principal();
    expect((await stack.http.get(w.dekPath('adm-1'), reader.token)).status).toBe(200);
    expect((await http2.get(w.dekPath('adm-1'), reader.token)).status).toBe(200);
    const other = await tenantWithAdmin(stack);
    const foreign = await stack.http.delete(
      `/v1/tenants/${other.tenant.id}/workspaces/${w.wsId}/segments/adm-1`,
      other.token,
    );
    expect(foreign.status).toBe(404);
    const cross = await stack.http.delete(w.adminPath('adm-1'), other.token);
    expect(cross.status).toBe(404);
    const aud = await inviteUser(stack.url, w.token, w.tenant.id, {
      email: `a-${randomBytes(3).toString('hex')}@example.com`,
      role: 'auditor',
    });
    expect((await stack.http.delete(w.adminPath('adm-1'), aud.token)).status).toBe(403);
    expect((await stack.http.get(w.dekPath('adm-1'), reader.token)).status).toBe(200);

    const del = await stack.http.delete(w.adminPath('adm-1'), w.token);
    expect(del.status).toBe(204);
    await until410(stack.http, w.dekPath('adm-1'), reader.token);
    await until410(http2, w.dekPath('adm-1'), reader.token);
    // an unknown segment can be destroyed ahead of time: its id is then never issued
    expect((await stack.http.delete(w.adminPath('never-issued'), w.token)).status).toBe(204);
    expect((await http2.get(w.dekPath('never-issued'), reader.token)).status).toBe(410);
    const bad = await stack.http.delete(
      `${w.base}/workspaces/${w.wsId}/segments/${encodeURIComponent('has space')}`,
      w.token,
    );
    expect(bad.status).toBe(400);
  });

  it('a lost invalidation message is covered by the fallback poll', async () => {
    const w = await boundWorkspace();
    const reader = await w.principal();
    expect((await http2.get(w.dekPath('quiet'), reader.token)).status).toBe(200);
    expect((await http2.get(w.dekPath('quiet'), reader.token)).status).toBe(200);
    // Destroy in the store only: no pub/sub message reaches replica 2.
    await stack.api.services.repos.segments.destroy(w.tenant.id, w.wsId, 'quiet', 'test');
    const bound = await until410(http2, w.dekPath('quiet'), reader.token, stack.config.kekCache.pollIntervalMs * 3);
    expect(bound).toBeLessThanOrEqual(stack.config.kekCache.pollIntervalMs * 2 + 500);
  });

  it('creates racing destroys never leave a live DEK under a destroyed id', async () => {
    const w = await boundWorkspace();
    const destroyer = await w.principal(['dek:fetch', 'dek:destroy']);
    const reader = await w.principal();
    const segs = Array.from({ length: 30 }, (_, i) => `race-${i}`);
    await Promise.all(
      segs.flatMap((s, i) => [
        (i % 2 ? http2 : stack.http).get(w.dekPath(s), reader.token),
        (i % 2 ? stack.http : http2).delete(w.dekPath(s), destroyer.token),
        (i % 3 ? http2 : stack.http).post(w.batchPath, { segmentIds: [s, `${s}-x`] }, reader.token),
      ]),
    );
    const live = await stack.api.services.ds.query(
      `SELECT d.segment_id FROM deks d JOIN segment_tombstones t ON t.workspace_id = d.workspace_id AND t.segment_id = d.segment_id WHERE d.workspace_id = $1`,
      [w.wsId],
    );
    expect(live).toEqual([]);
    for (const s of segs) {
      expect((await stack.http.get(w.dekPath(s), reader.token)).status).toBe(410);
      expect((await http2.get(w.dekPath(s), reader.token)).status).toBe(410);
    }
  });

  it("the destroyed DEK's bytes (plaintext and wrapped) are nowhere: rows, Redis, logs", async () => {
    const w = await boundWorkspace();
    const destroyer = await w.principal(['dek:fetch', 'dek:destroy']);
    const segs = ['gone-a', 'gone-b'];
    const secrets: Buffer[] = [];
    for (const s of segs) {
      const r1 = await stack.http.get(w.dekPath(s), destroyer.token);
      expect((await http2.get(w.dekPath(s), destroyer.token)).body.dek).toBe(r1.body.dek);
      secrets.push(Buffer.from(r1.body.dek, 'base64'), (await wrappedOf(w.wsId, s))!);
    }
    await stack.http.delete(w.dekPath('gone-a'), destroyer.token);
    await stack.http.delete(w.adminPath('gone-b'), w.token);
    for (const s of segs) {
      await until410(stack.http, w.dekPath(s), destroyer.token);
      await until410(http2, w.dekPath(s), destroyer.token);
    }
    const needles = secrets.flatMap((k) => [k.toString('hex'), k.toString('base64'), k.toString('base64url')]);
    const { ds } = stack.api.services;
    const tables = (
      await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
    ).map((t: { table_name: string }) => t.table_name);
    let pgText = '';
    const pgBytes: Buffer[] = [];
    for (const t of tables)
      for (const row of await ds.query(`SELECT * FROM "${t}"`))
        for (const v of Object.values(row)) {
          if (Buffer.isBuffer(v)) {
            pgBytes.push(v);
            pgText += v.toString('hex');
          } else pgText += `${JSON.stringify(v)}\n`;
        }
    for (const n of needles) expect(pgText.toLowerCase().includes(n.toLowerCase()) ? n : null).toBeNull();
    const allPg = Buffer.concat(pgBytes);
    for (const k of secrets) expect(allPg.includes(k)).toBe(false);

    const redis = new Redis(stack.config.redisUrl);
    let dump = '';
    try {
      for (const k of await redis.keys(`${stack.redisPrefix}*`)) {
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
                    : null;
        dump += `${k} ${Buffer.isBuffer(v) ? v.toString('latin1') : JSON.stringify(v)}\n`;
      }
    } finally {
      redis.disconnect();
    }
    const logs = stack.logs() + logs2.join('');
    for (const n of needles) {
      expect(dump.includes(n) ? n : null).toBeNull();
      expect(logs.includes(n) ? n : null).toBeNull();
    }
    for (const s of segs) {
      expect(stack.api.services.deks.cachedSegment(w.wsId, s)).toBe(false);
      expect(replica2.services.deks.cachedSegment(w.wsId, s)).toBe(false);
    }
  });
});
