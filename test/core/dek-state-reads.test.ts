import { KekCache } from '@app/kek-cache';
import { DekService, KekResolver } from '@app/keys';
import type { Repositories } from '@app/persistence';
import { JobsHarness, startJobsHarness } from '../jobs/harness';

/**
 * The DEK path's workspace state cache against real Postgres: a burst of cold requests for one workspace shares one
 * state read, and a read that was in flight when the workspace was invalidated is never cached.
 */
describe('DEK service: workspace state reads', () => {
  let h: JobsHarness;
  beforeAll(async () => {
    h = await startJobsHarness();
  });
  afterAll(async () => h?.close());

  /** A DEK service (own KEK cache, state cache on) whose workspace repository counts its state reads. */
  function countingService(stateCacheTtlMs = 60_000) {
    const reads = { n: 0, gate: null as Promise<void> | null, batched: [] as number[] };
    const workspaces = Object.create(h.deps.repos.workspaces) as Repositories['workspaces'];
    workspaces.findForPrincipal = async (...args) => {
      reads.n++;
      if (reads.gate) await reads.gate;
      return h.deps.repos.workspaces.findForPrincipal(...args);
    };
    workspaces.findManyForPrincipal = async (tenantId, ids, sub) => {
      reads.batched.push(ids.length);
      return h.deps.repos.workspaces.findManyForPrincipal(tenantId, ids, sub);
    };
    const repos = { ...h.deps.repos, workspaces } as Repositories;
    const cache = new KekCache({ ttlMs: 60_000, maxEntries: 100 });
    const resolver = new KekResolver(
      repos,
      h.deps.registry,
      cache,
      { onRevocationSuspected: async () => undefined },
      1,
    );
    const service = new DekService(repos, resolver, {
      stateCacheTtlMs,
      wrappedCacheEntries: 10_000,
      wrapReserveChunk: 100,
      batchMax: 1000,
    });
    return { service, reads, cache };
  }

  it('200 concurrent cold requests for one workspace cost one state read, and all get the same DEKs', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    const expected = await h.fetchDeks(t, ws, ['a', 'b', 'c']);
    const { service, reads, cache } = countingService();
    const p = { tid: t.tenantId, sub: t.principalId };
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => service.getDeks(p, ws, [['a', 'b', 'c'][i % 3]])),
    );
    expect(reads.n).toBe(1);
    for (const [d] of results) expect(d.dek).toBe(expected.get(d.segmentId));
    // Warm now: no further read while the entry is fresh.
    await service.getDeks(p, ws, ['a']);
    expect(reads.n).toBe(1);
    cache.close();
  });

  it('a cold fetch reads Postgres once before the KMS call (state, DEK and KEK rows together; the configuration is cached)', async () => {
    const t = await h.awsTenant({ workspaces: 2 });
    const reads = { config: 0, kek: 0, kekRows: 0, state: 0 };
    const count = <T extends object>(repo: T, method: keyof T, key: keyof typeof reads): T => {
      const wrapped = Object.create(repo) as T;
      const original = (repo[method] as unknown as (...a: unknown[]) => unknown).bind(repo);
      (wrapped as Record<keyof T, unknown>)[method] = (...args: unknown[]) => {
        reads[key]++;
        return original(...args);
      };
      return wrapped;
    };
    const repos = {
      ...h.deps.repos,
      keyConfigurations: count(h.deps.repos.keyConfigurations, 'findWithTenant', 'config'),
      keks: count(count(h.deps.repos.keks, 'find', 'kek'), 'findLive', 'kekRows'),
      workspaces: count(h.deps.repos.workspaces, 'findForPrincipal', 'state'),
    } as Repositories;
    const cache = new KekCache({ ttlMs: 60_000, maxEntries: 100 });
    const resolver = new KekResolver(
      repos,
      h.deps.registry,
      cache,
      { onRevocationSuspected: async () => undefined },
      1,
    );
    const service = new DekService(repos, resolver, {
      stateCacheTtlMs: 60_000,
      wrappedCacheEntries: 10_000,
      wrapReserveChunk: 100,
      batchMax: 1000,
    });
    const p = { tid: t.tenantId, sub: t.principalId };
    const expected = await h.fetchDeks(t, t.workspaceIds[1], ['x']);
    // Cold workspace: state, DEK rows and KEK rows in one round trip, then the configuration with its tenant's
    // identity (one query, first time only), then the KMS call.
    await service.getDeks(p, t.workspaceIds[0], ['x']);
    expect(reads).toEqual({ config: 1, kek: 0, kekRows: 1, state: 1 });
    // Second workspace of the same configuration: the one round trip, then straight to the KMS.
    const [d] = await service.getDeks(p, t.workspaceIds[1], ['x']);
    expect(reads).toEqual({ config: 1, kek: 0, kekRows: 2, state: 2 });
    expect(d.dek).toBe(expected.get('x'));
    cache.close();
  });

  it('background re-reads that fall due together share one query, and what they read is enforced', async () => {
    const t = await h.awsTenant({ workspaces: 3 });
    const { service, reads, cache } = countingService(400);
    const p = { tid: t.tenantId, sub: t.principalId };
    for (const ws of t.workspaceIds) await service.getDeks(p, ws, ['a']);
    expect(reads.n).toBe(3);
    for (const ws of t.workspaceIds) expect(service.getWarmBody(p, ws, 'a')).toEqual(expect.any(String));
    // The principal loses its scope on one workspace; past the state TTL the warm path still answers from the stale
    // entry once per workspace (stale-while-revalidate) and asks for the re-reads, which go out as one query.
    await h.ds.query(
      'DELETE FROM service_principal_workspaces WHERE tenant_id = $1 AND service_principal_id = $2 AND workspace_id = $3',
      [t.tenantId, t.principalId, t.workspaceIds[0]],
    );
    await new Promise((r) => setTimeout(r, 450));
    for (const ws of t.workspaceIds) expect(service.getWarmBody(p, ws, 'a')).toEqual(expect.any(String));
    const until = Date.now() + 5_000;
    while (reads.batched.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(reads.batched).toEqual([3]);
    expect(reads.n).toBe(3);
    expect(() => service.getWarmBody(p, t.workspaceIds[0], 'a')).toThrow(
      expect.objectContaining({ code: 'WORKSPACE_NOT_FOUND' }),
    );
    expect(service.getWarmBody(p, t.workspaceIds[1], 'a')).toEqual(expect.any(String));
    expect(service.getWarmBody(p, t.workspaceIds[2], 'a')).toEqual(expect.any(String));
    cache.close();
  });

  it('a state read that was in flight when the workspace was invalidated is not cached', async () => {
    const t = await h.awsTenant();
    const ws = t.workspaceIds[0];
    await h.fetchDeks(t, ws, ['a']);
    const { service, reads, cache } = countingService();
    const p = { tid: t.tenantId, sub: t.principalId };
    let open!: () => void;
    reads.gate = new Promise<void>((r) => (open = r));
    const first = service.getDeks(p, ws, ['a']);
    while (reads.n === 0) await new Promise((r) => setImmediate(r));
    service.forgetWorkspace(ws);
    // A request after the invalidation does not join the stale read: it starts its own.
    const second = service.getDeks(p, ws, ['a']);
    while (reads.n < 2) await new Promise((r) => setImmediate(r));
    open();
    reads.gate = null;
    await Promise.all([first, second]);
    expect(reads.n).toBe(2);
    // The pre-invalidation read was not cached; the post-invalidation one was.
    expect(service.cacheSizes().access).toBe(1);
    await service.getDeks(p, ws, ['a']);
    expect(reads.n).toBe(2);
    cache.close();
  });
});
