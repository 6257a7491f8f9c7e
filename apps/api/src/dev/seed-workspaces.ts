/**
 * Seeds many workspaces into one tenant with one SQL statement, for the tests, the console's large-tenant browser test
 * and the `lists` benchmark: creating 100,000 workspaces through the API would take longer than anything they
 * measure. The rows are list fixtures (names, states, a configuration, degraded flags); none has a KEK, so none can
 * serve a DEK. Never used by the product.
 */
export interface SqlRunner {
  query(text: string, params?: unknown[]): Promise<unknown>;
}

export const SEED_TEAMS = ['orders', 'billing', 'search', 'analytics', 'payments'] as const;

/**
 * `n` workspaces named `<prefix>-<000123>-<team>` (team = SEED_TEAMS[i % 5], so every team is spread over the whole
 * name order, as real names are). Without a configuration they are all
 * unbound; with one, i % 10 decides the state: 0-5 active, 6 unbound, 7 shredded, 8 access_suspect, 9 rekeying, and
 * every 13th active one is degraded. Creation times are one millisecond apart, in index order.
 */
export async function seedWorkspaces(
  db: SqlRunner,
  tenantId: string,
  n: number,
  opts: { prefix?: string; keyConfigurationId?: string } = {},
): Promise<void> {
  const prefix = opts.prefix ?? 'ws';
  for (let from = 0; from < n; from += 50_000) {
    const to = Math.min(n, from + 50_000);
    await db.query(
      `INSERT INTO workspaces (id, tenant_id, name, key_state, key_configuration_id, degraded, created_at, updated_at)
       SELECT gen_random_uuid(), $1::uuid,
              $2 || '-' || lpad(g::text, 6, '0') || '-' || ($4::text[])[1 + g % 5],
              CASE WHEN $5::uuid IS NULL THEN 'unbound'
                   ELSE (ARRAY['active','active','active','active','active','active','unbound','shredded','access_suspect','rekeying'])[1 + g % 10] END,
              CASE WHEN $5::uuid IS NULL OR g % 10 = 6 THEN NULL ELSE $5::uuid END,
              $5::uuid IS NOT NULL AND g % 10 < 6 AND g % 13 = 0,
              now() - make_interval(secs => ($3::int - g) / 1000.0), now()
         FROM generate_series($6::int, $7::int - 1) g`,
      [tenantId, prefix, n, [...SEED_TEAMS], opts.keyConfigurationId ?? null, from, to],
    );
  }
  // Visibility map and statistics, as autovacuum would have them for rows that old.
  await db.query(`VACUUM (ANALYZE) workspaces`);
}
