import type { AuditRecord } from './audit-log';
import { AuditBuffer } from './subscribers';

/** A log whose writes fail while `down` (what a database outage looks like to the buffer). */
class FlakyLog {
  down = true;
  written: Array<{ tenantId: string; records: AuditRecord[] }> = [];
  async appendMany(tenantId: string, records: AuditRecord[]): Promise<number[]> {
    if (this.down) throw new Error('connection terminated');
    this.written.push({ tenantId, records });
    return records.map((_, i) => i + 1);
  }
}

const issued = (n: number): AuditRecord => ({ actor: 'service:p', action: 'dek.issued', target: 'workspace:w', outcome: 'success', details: { count: n } });
const kms = (i: number): AuditRecord => ({ actor: 'keyhold', action: 'kms.aws.decrypt', target: `arn:${i % 3}`, outcome: 'success', details: { latencyMs: 1 } });

describe('AuditBuffer', () => {
  it('keeps a failed batch and writes it once the database is back, in order', async () => {
    const log = new FlakyLog();
    const buffer = new AuditBuffer(log, 60_000, () => undefined, 1_000);
    buffer.push('t', issued(1));
    buffer.push('t', issued(2));
    await buffer.flush();
    buffer.push('t', issued(3));
    await buffer.flush();
    expect(buffer.pendingCount()).toBe(3);
    log.down = false;
    await buffer.flush();
    expect(buffer.pendingCount()).toBe(0);
    expect(log.written.flatMap((w) => w.records.map((r) => r.details?.count))).toEqual([1, 2, 3]);
  });

  it('stays bounded during a long outage and still accounts for every event', async () => {
    const log = new FlakyLog();
    const buffer = new AuditBuffer(log, 60_000, () => undefined, 100);
    for (let i = 0; i < 5_000; i++) {
      buffer.push('t', issued(2));
      buffer.push('t', kms(i));
      if (i % 500 === 0) await buffer.flush();
    }
    await buffer.flush();
    expect(buffer.pendingCount()).toBeLessThanOrEqual(101);
    log.down = false;
    await buffer.flush();
    const records = log.written.flatMap((w) => w.records);
    const dek = records.filter((r) => r.action === 'dek.issued');
    const calls = records.filter((r) => r.action === 'kms.aws.decrypt');
    expect(dek.reduce((s, r) => s + Number(r.details?.count), 0)).toBe(10_000);
    expect(dek.reduce((s, r) => s + Number(r.details?.compacted ?? 1), 0)).toBe(5_000);
    expect(calls.reduce((s, r) => s + Number(r.details?.compacted ?? 1), 0)).toBe(5_000);
  });
});
