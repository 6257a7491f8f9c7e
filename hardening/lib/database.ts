/**
 * What the suite reads of its private database (stack/database.ts creates it): a snapshot of every table, to
 * prove rejected requests changed nothing, and every row's text, for the key-material scan.
 */
/** Row count and an order-independent checksum of every table in the public schema. */
export type DbSnapshot = Record<string, { rows: number; checksum: string }>;

export class DbInspector {
  private tables: string[] | null = null;

  constructor(private readonly query: (sql: string, params?: unknown[]) => Promise<any[]>) {}

  async tableNames(): Promise<string[]> {
    if (!this.tables) {
      const rows = await this.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
      this.tables = rows
        .map((r: { tablename: string }) => r.tablename)
        .filter((t: string) => /^[a-z_][a-z0-9_]*$/.test(t));
    }
    return this.tables;
  }

  /** One round trip: count(*) and md5 over the sorted row texts of each table (the migrations table included). */
  async snapshot(): Promise<DbSnapshot> {
    const tables = await this.tableNames();
    const sql = tables
      .map(
        (t) =>
          `SELECT '${t}' AS t, count(*)::int AS n, coalesce(md5(string_agg(x.r, '|' ORDER BY x.r)), '') AS h FROM (SELECT t0::text AS r FROM "${t}" t0) x`,
      )
      .join(' UNION ALL ');
    const rows = await this.query(sql);
    return Object.fromEntries(
      rows.map((r: { t: string; n: number; h: string }) => [r.t, { rows: r.n, checksum: r.h }]),
    );
  }

  /** Every row of every table as text (for the key-material scan). */
  async *rowTexts(): AsyncGenerator<{ table: string; text: string }> {
    for (const t of await this.tableNames()) {
      const rows = await this.query(`SELECT t0::text AS r FROM "${t}" t0`);
      for (const r of rows) yield { table: t, text: r.r as string };
    }
  }
}

/** Tables whose content differs between two snapshots. */
export function diffSnapshots(a: DbSnapshot, b: DbSnapshot): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  const changed: string[] = [];
  for (const n of names) {
    const x = a[n];
    const y = b[n];
    if (!x || !y || x.rows !== y.rows || x.checksum !== y.checksum)
      changed.push(`${n} (${x?.rows ?? '-'} → ${y?.rows ?? '-'} rows)`);
  }
  return changed;
}
