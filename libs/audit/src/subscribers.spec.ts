import type { AuditRecord } from './audit-log';
import { AuditBuffer, DekIssuanceAggregator } from './subscribers';

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

const issued = (n: number): AuditRecord => ({
  actor: 'service:p',
  action: 'dek.issued',
  target: 'workspace:w',
  outcome: 'success',
  details: { count: n },
});
const kms = (i: number): AuditRecord => ({
  actor: 'keyhold',
  action: 'kms.aws.decrypt',
  target: `arn:${i % 3}`,
  outcome: 'success',
  details: { latencyMs: 1 },
});

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

describe('DekIssuanceAggregator: key use by reason', () => {
  const names = ['NONE', 'CUSTOMER_INITIATED', 'SCHEDULED_JOB', 'BACKUP', 'MIGRATION', 'VENDOR_SUPPORT', 'EMERGENCY'];

  it('writes one record per (principal, workspace, reason, minute), issued and refused apart, with the tickets seen', async () => {
    const log = new FlakyLog();
    log.down = false;
    const buffer = new AuditBuffer(log, 60_000);
    const agg = new DekIssuanceAggregator(buffer, 60_000, names);
    const t = agg.tally('t', 'p', 'w');
    const minute = Date.UTC(2026, 0, 1, 10, 0);
    for (let i = 0; i < 5; i++) t.add(1, minute + i, 0);
    t.add(3, minute + 10, 1, 'INC-1');
    t.add(2, minute + 11, 1, 'INC-1');
    t.add(1, minute + 12, 1, 'INC-2');
    // a flood of refused requests is one record per reason and minute
    for (let i = 0; i < 10_000; i++) t.deny(5, minute + 20, 'REASON_DENIED', i < 20 ? `T-${i}` : undefined);
    t.add(4, minute + 60_000, 2); // next minute: the previous one is emitted
    agg.close();
    await buffer.flush();
    const records = log.written.flatMap((w) => w.records);
    const first = records.filter((r) => r.details?.minute === new Date(minute).toISOString());
    expect(first.map((r) => [r.action, r.details?.reason, r.details?.count])).toEqual([
      ['dek.issued', 'NONE', 5],
      ['dek.issued', 'CUSTOMER_INITIATED', 6],
      ['dek.access_denied', 'VENDOR_SUPPORT', 10_000],
    ]);
    expect(first[1].details?.tickets).toEqual(['INC-1', 'INC-2']);
    expect(first[2].outcome).toBe('failure');
    expect(first[2].details?.code).toBe('REASON_DENIED');
    expect((first[2].details?.tickets as string[]).length).toBe(16);
    expect(first[2].details?.ticketsOmitted).toBe(4);
    const second = records.filter((r) => r.details?.minute === new Date(minute + 60_000).toISOString());
    expect(second.map((r) => [r.action, r.details?.reason, r.details?.count])).toEqual([
      ['dek.issued', 'SCHEDULED_JOB', 4],
    ]);
  });

  it('keeps reasons and refusal codes apart when an outage compacts the queue', async () => {
    const log = new FlakyLog();
    const buffer = new AuditBuffer(log, 60_000, () => undefined, 50);
    const rec = (reason: string, action = 'dek.issued', code?: string): AuditRecord => ({
      actor: 'service:p',
      action,
      target: 'workspace:w',
      outcome: action === 'dek.issued' ? 'success' : 'failure',
      details: { count: 2, reason, ...(code ? { code } : {}) },
    });
    for (let i = 0; i < 300; i++) {
      buffer.push('t', rec('BACKUP'));
      buffer.push('t', rec('MIGRATION'));
      buffer.push('t', rec('EMERGENCY', 'dek.access_denied', 'REASON_DENIED'));
    }
    log.down = false;
    await buffer.flush();
    const records = log.written.flatMap((w) => w.records);
    const sum = (reason: string) =>
      records.filter((r) => r.details?.reason === reason).reduce((s, r) => s + Number(r.details?.count), 0);
    expect(sum('BACKUP')).toBe(600);
    expect(sum('MIGRATION')).toBe(600);
    expect(sum('EMERGENCY')).toBe(600);
    expect(
      records.filter((r) => r.details?.reason === 'EMERGENCY').every((r) => r.details?.code === 'REASON_DENIED'),
    ).toBe(true);
  });
});
