import { expectJson } from './http';

/** Client of the emulator admin API (README "Emulators"): exact call counters and fault/latency injection. */
export interface FaultRule {
  cloud?: 'aws' | 'azure' | 'gcp';
  operation?: string;
  keyId?: string;
  principal?: string;
  kind: 'latency' | 'throttle' | 'error' | 'hang' | 'reset';
  rate?: number;
  latencyMs?: number;
  jitterMs?: number;
  count?: number;
}

export class EmulatorAdmin {
  constructor(private readonly baseUrl: string) {}

  /** Calls the emulator saw, optionally filtered; `outcome: 'ok'` counts only successful calls. */
  async count(
    filter: { cloud?: string; operation?: string; principal?: string; outcome?: string } = {},
  ): Promise<number> {
    const q = new URLSearchParams();
    for (const k of ['cloud', 'operation', 'principal'] as const) if (filter[k]) q.set(k, filter[k]);
    const body = await expectJson<{ calls: Array<{ outcome: string; count: number }>; total: number }>(
      'emulator counters',
      `${this.baseUrl}/counters?${q.toString()}`,
      [200],
    );
    if (!filter.outcome) return body.total;
    return body.calls.filter((c) => c.outcome === filter.outcome).reduce((n, c) => n + c.count, 0);
  }

  /** Calls per operation (all outcomes), e.g. {Decrypt: 300, Encrypt: 300, AssumeRole: 1}. */
  async byOperation(cloud: string): Promise<Record<string, number>> {
    const body = await expectJson<{ calls: Array<{ operation: string; count: number }> }>(
      'emulator counters',
      `${this.baseUrl}/counters?cloud=${cloud}`,
      [200],
    );
    const out: Record<string, number> = {};
    for (const c of body.calls) out[c.operation] = (out[c.operation] ?? 0) + c.count;
    return out;
  }

  async resetCounters(): Promise<void> {
    await expectJson('reset emulator counters', `${this.baseUrl}/counters/reset`, [204], { method: 'POST' });
  }

  async addFault(rule: FaultRule): Promise<string> {
    const created = await expectJson<{ id: string }>('add emulator fault', `${this.baseUrl}/faults`, [201], {
      method: 'POST',
      body: rule,
    });
    return created.id;
  }

  async clearFaults(): Promise<void> {
    await expectJson('clear emulator faults', `${this.baseUrl}/faults`, [204], { method: 'DELETE' });
  }
}
