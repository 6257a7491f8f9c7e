import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuditKeys, AuditLog } from '../../libs/audit/src';
import { buildConfig } from '../../libs/config/src';
import { createRepositories, pgCode, Repositories } from '../../libs/persistence/src';
import { openTestDataSource, TEST_DATABASE_URL } from '../support/db';

/** Database-level guarantees: tenant scoping by composite FKs, CAS transitions, one DEK per segment, the audit chain under concurrency. */
describe('persistence (real Postgres)', () => {
  let ds: DataSource;
  let repos: Repositories;
  beforeAll(async () => {
    ds = await openTestDataSource();
    repos = createRepositories(ds);
  });
  afterAll(async () => ds?.destroy());

  async function tenant() {
    const id = randomUUID();
    await repos.tenants.insert(ds, { id, name: 't', externalId: randomBytes(24).toString('base64url') });
    return id;
  }

  it("a row can never point at another tenant's row (composite foreign keys)", async () => {
    const a = await tenant();
    const b = await tenant();
    const wsA = await repos.workspaces.insert(a, { id: randomUUID(), name: 'a' });
    // B's service principal scoped to A's workspace
    const err = await repos.servicePrincipals
      .insert(ds, b, { id: randomUUID(), name: 'x', clientId: `c-${randomUUID()}`, secretHash: 'h' }, [wsA.id])
      .catch((e: unknown) => e);
    expect(pgCode(err)).toBe('23503');
    // B's operation on A's workspace
    const op = await repos.operations
      .createOrGetUnfinished(b, { id: randomUUID(), workspaceId: wsA.id, kind: 'kek-rotation' })
      .catch((e: unknown) => e);
    expect(pgCode(op)).toBe('23503');
    // reads are tenant-scoped too
    expect(await repos.workspaces.findById(b, wsA.id)).toBeNull();
    expect(await repos.workspaces.findById(a, wsA.id)).not.toBeNull();
  });

  it('state transitions are compare-and-set', async () => {
    const a = await tenant();
    const w = await repos.workspaces.insert(a, { id: randomUUID(), name: 'w' });
    const [r1, r2] = await Promise.all([
      repos.workspaces.transition(ds, a, w.id, {
        from: ['unbound'],
        to: 'provisioning',
        expectedVersion: w.stateVersion,
      }),
      repos.workspaces.transition(ds, a, w.id, {
        from: ['unbound'],
        to: 'provisioning',
        expectedVersion: w.stateVersion,
      }),
    ]);
    expect([r1, r2].filter(Boolean)).toHaveLength(1);
    expect((r1 ?? r2)!.stateVersion).toBe(w.stateVersion + 1);
  });

  it('setDegraded, the one write of the flag (API unwrap, probes), moves neither state_version nor kek_generation', async () => {
    const a = await tenant();
    const b = await tenant();
    const w = await repos.workspaces.insert(a, { id: randomUUID(), name: 'w' });
    // Another tenant cannot flip it.
    expect(await repos.workspaces.setDegraded(b, w.id, true)).toBe(false);
    expect(await repos.workspaces.setDegraded(a, w.id, true)).toBe(true);
    // Unchanged: no write at all.
    expect(await repos.workspaces.setDegraded(a, w.id, true)).toBe(false);
    await ds.transaction((m) => repos.workspaces.setDegraded(a, w.id, false, m));
    const after = (await repos.workspaces.findById(a, w.id))!;
    expect(after).toMatchObject({ degraded: false, stateVersion: w.stateVersion, kekGeneration: w.kekGeneration });
  });

  it('a worker-triggered operation joins the API-requested one of the same kind (one repository for both)', async () => {
    const a = await tenant();
    const w = await repos.workspaces.insert(a, { id: randomUUID(), name: 'w' });
    const requested = await repos.operations.createOrGetUnfinished(a, {
      id: randomUUID(),
      workspaceId: w.id,
      kind: 'kek-rotation',
      requestedBy: 'admin:x',
    });
    const triggered = await ds.transaction((m) =>
      repos.operations.createOrGetUnfinished(
        a,
        { workspaceId: w.id, kind: 'kek-rotation', params: { trigger: 'wrap count' } },
        m,
      ),
    );
    expect(triggered).toMatchObject({
      created: false,
      operation: { id: requested.operation.id, state: 'queued', attempts: 0 },
    });
    const running = await repos.operations.begin(a, requested.operation.id);
    expect(running).toMatchObject({ state: 'running', attempts: 1 });
    expect(await repos.operations.begin(randomUUID(), requested.operation.id)).toBeNull();
    expect(await repos.operations.succeed(a, requested.operation.id, { kekVersion: 2 })).toBe(true);
    // A late duplicate cannot move a finished operation.
    expect(await repos.operations.fail(a, requested.operation.id, 'late')).toBe(false);
    expect(await repos.operations.find(a, requested.operation.id)).toMatchObject({
      state: 'succeeded',
      result: { kekVersion: 2 },
      step: 'done',
    });
  });

  it('operations de-duplicate per (workspace, kind) while unfinished', async () => {
    const a = await tenant();
    const w = await repos.workspaces.insert(a, { id: randomUUID(), name: 'w' });
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        repos.operations.createOrGetUnfinished(a, { id: randomUUID(), workspaceId: w.id, kind: 'revocation-check' }),
      ),
    );
    expect(new Set(results.map((r) => r.operation.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('concurrent audit appends from two logs (two "processes") form one gap-free verifiable chain', async () => {
    const a = await tenant();
    const keys = new AuditKeys(
      buildConfig({
        mode: 'test',
        databaseUrl: TEST_DATABASE_URL,
        operatorToken: 'o'.repeat(32),
        tokenSecret: 't'.repeat(32),
      }).audit,
    );
    const log1 = new AuditLog(ds, keys);
    const log2 = new AuditLog(ds, keys);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? log1 : log2).append(a, {
          actor: 'test',
          action: 'x',
          target: `t${i}`,
          outcome: 'success',
          details: { i, nested: { b: 1, a: [1, 2] } },
        }),
      ),
    );
    const v = await log1.verify(a);
    expect(v).toMatchObject({ ok: true, count: 40 });
    const lines: string[] = [];
    for await (const l of log1.exportJsonLines(a)) lines.push(l);
    expect(lines).toHaveLength(40);
    expect(JSON.parse(lines[0]).seq).toBe(1);
    // the application cannot delete it; a superuser with triggers off can, and the head gives it away
    await expect(ds.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 40`, [a])).rejects.toThrow(
      /append-only/,
    );
    await ds.transaction(async (m) => {
      await m.query(`SET LOCAL session_replication_role = replica`);
      await m.query(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 40`, [a]);
    });
    expect(await log1.verify(a)).toMatchObject({ ok: false, firstBadSeq: 40, reason: 'truncated' });
  });
});
