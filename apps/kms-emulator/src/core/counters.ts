import type { Cloud } from './faults';

export interface CounterRow {
  cloud: Cloud;
  operation: string;
  principal: string;
  outcome: string;
  count: number;
}

/** Exact call counters per (cloud, operation, principal, outcome). Benchmarks and tests read these. */
export class CallCounters {
  private readonly rows = new Map<string, CounterRow>();

  record(cloud: Cloud, operation: string, principal: string | undefined, outcome: string): void {
    const p = principal ?? 'anonymous';
    const key = `${cloud}\u0000${operation}\u0000${p}\u0000${outcome}`;
    const row = this.rows.get(key);
    if (row) row.count++;
    else this.rows.set(key, { cloud, operation, principal: p, outcome, count: 1 });
  }

  list(filter: { cloud?: string; operation?: string; principal?: string } = {}): CounterRow[] {
    return [...this.rows.values()]
      .filter(
        (r) =>
          (!filter.cloud || r.cloud === filter.cloud) &&
          (!filter.operation || r.operation === filter.operation) &&
          (!filter.principal || r.principal === filter.principal),
      )
      .map((r) => ({ ...r }));
  }

  total(filter: { cloud?: string; operation?: string; principal?: string; outcome?: string } = {}): number {
    return this.list(filter)
      .filter((r) => !filter.outcome || r.outcome === filter.outcome)
      .reduce((n, r) => n + r.count, 0);
  }

  reset(): void {
    this.rows.clear();
  }
}
