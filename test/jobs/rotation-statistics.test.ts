import { JobsHarness, startJobsHarness } from './harness';

/**
 * KEK rotation of a workspace that grew large since the last ANALYZE: the planner would estimate it at a few rows
 * and plan every batch UPDATE as a scan of the whole workspace. The rotation refreshes the statistics first.
 */
describe('KEK rotation planner statistics', () => {
  let h: JobsHarness;
  beforeAll(async () => {
    h = await startJobsHarness();
  });
  afterAll(async () => h?.close());

  const estimate = async (tenantId: string, workspaceId: string) => {
    const plan = await h.ds.query(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM deks WHERE tenant_id = $1 AND workspace_id = $2`,
      [tenantId, workspaceId],
    );
    return Number(plan[0]['QUERY PLAN'][0].Plan['Plan Rows']);
  };

  it('analyzes when the estimate is far below the workspace size, and not again once it is close', async () => {
    const small = await h.awsTenant({ workspaces: 3 });
    const big = await h.awsTenant();
    for (const ws of small.workspaceIds) await h.fetchDeks(small, ws, ['a', 'b', 'c']);
    await h.ds.query('ANALYZE deks');
    const ws = big.workspaceIds[0];
    // 30,000 rows arrive after the last ANALYZE (a bulk import). Wrapped bytes are placeholders: only the planner looks.
    await h.ds.query(
      `INSERT INTO deks (id, tenant_id, workspace_id, segment_id, kek_version, wrapped)
       SELECT gen_random_uuid(), $1, $2, 'bulk-' || lpad(g::text, 6, '0'), 1, decode(repeat('00', 60), 'hex') FROM generate_series(1, 30000) g`,
      [big.tenantId, ws],
    );
    expect(await estimate(big.tenantId, ws)).toBeLessThan(30_000 / 4);
    const { deks } = h.deps.repos;
    expect(await deks.ensureStatistics(big.tenantId, ws, 30_000)).toBe(true);
    expect(await estimate(big.tenantId, ws)).toBeGreaterThan(30_000 / 4);
    expect(await deks.ensureStatistics(big.tenantId, ws, 30_000)).toBe(false);
    // Small workspaces never pay for it.
    expect(await deks.ensureStatistics(small.tenantId, small.workspaceIds[0], 3)).toBe(false);
  });
});
