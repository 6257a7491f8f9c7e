import { AuditBuffer, DekIssuanceAggregator } from '@app/audit';
import {
  accessTicket,
  ACCESS_REASONS,
  admitReason,
  DEFAULT_PRINCIPAL_REASONS,
  NO_REASON,
  reasonMask,
  reasonSlot,
  REASON_SLOT_NAMES,
} from './access-reasons';
import { DomainError } from './errors';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof DomainError ? e.code : 'not a DomainError';
  }
};

describe('access reasons', () => {
  it('maps exactly the closed set to slots; anything else is INVALID_ACCESS_REASON', () => {
    expect(reasonSlot(undefined)).toBe(NO_REASON);
    ACCESS_REASONS.forEach((r, i) => expect(reasonSlot(r)).toBe(i + 1));
    expect(REASON_SLOT_NAMES[reasonSlot('BACKUP')]).toBe('BACKUP');
    for (const bad of [
      '',
      'backup',
      'BACKUP ',
      'BACKUP, BACKUP',
      'NONE',
      '__proto__',
      'constructor',
      'x'.repeat(10_000),
    ])
      expect(codeOf(() => reasonSlot(bad))).toBe('INVALID_ACCESS_REASON');
    expect(codeOf(() => reasonSlot(['BACKUP', 'BACKUP']))).toBe('INVALID_ACCESS_REASON');
  });

  it('accepts bounded ticket references only, and only with a reason', () => {
    expect(accessTicket(undefined, 3)).toBeUndefined();
    expect(accessTicket('JIRA-1/a.b_c:d#e', 3)).toBe('JIRA-1/a.b_c:d#e');
    expect(accessTicket('a'.repeat(64), 3)).toHaveLength(64);
    for (const bad of ['', 'a'.repeat(65), '-x', 'a b', 'a\nb', 'é', '<x>', 'a;b'])
      expect(codeOf(() => accessTicket(bad, 3))).toBe('INVALID_ACCESS_TICKET');
    expect(codeOf(() => accessTicket('INC-1', NO_REASON))).toBe('INVALID_ACCESS_TICKET');
  });

  it('admits a reason only when the principal may give it and the workspace does not refuse it; counts every refusal', async () => {
    const written: Array<{ action: string; details?: Record<string, unknown> }> = [];
    const buffer = new AuditBuffer(
      { appendMany: async (_t, records) => (written.push(...records), records.map((_, i) => i)) },
      60_000,
    );
    const agg = new DekIssuanceAggregator(buffer, 60_000, REASON_SLOT_NAMES);
    const tally = agg.tally('t', 'p', 'w');
    const now = Date.now();
    const mask = reasonMask({
      principalReasons: [...DEFAULT_PRINCIPAL_REASONS, 'VENDOR_SUPPORT'],
      deniedReasons: ['MIGRATION'],
      reasonRequired: false,
    });
    const admit = (r?: string) => codeOf(() => admitReason(mask, reasonSlot(r), tally, now, undefined));
    expect(admit()).toBeUndefined();
    expect(admit('CUSTOMER_INITIATED')).toBeUndefined();
    expect(admit('VENDOR_SUPPORT')).toBeUndefined();
    expect(admit('MIGRATION')).toBe('REASON_DENIED'); // the workspace refuses it
    expect(admit('EMERGENCY')).toBe('REASON_DENIED'); // the principal may not give it
    const required = reasonMask({
      principalReasons: DEFAULT_PRINCIPAL_REASONS,
      deniedReasons: [],
      reasonRequired: true,
    });
    expect(codeOf(() => admitReason(required, NO_REASON, tally, now, undefined))).toBe('REASON_REQUIRED');
    expect(codeOf(() => admitReason(required, reasonSlot('BACKUP'), tally, now, undefined))).toBeUndefined();
    // a principal row that does not exist admits nothing
    expect(codeOf(() => admitReason(reasonMask(null), NO_REASON, null, now, undefined))).toBe('REASON_REQUIRED');
    // an unknown stored value (never written: a CHECK constraint refuses it) grants nothing
    const odd = reasonMask({ principalReasons: ['WHATEVER'], deniedReasons: ['WHATEVER'], reasonRequired: false });
    for (const r of ACCESS_REASONS)
      expect(codeOf(() => admitReason(odd, reasonSlot(r), null, now, undefined))).toBe('REASON_DENIED');
    agg.close();
    await buffer.flush();
    const denied = written
      .filter((r) => r.action === 'dek.access_denied')
      .map((r) => [r.details?.reason, r.details?.code, r.details?.count]);
    expect(denied).toEqual([
      ['NONE', 'REASON_REQUIRED', 1],
      ['MIGRATION', 'REASON_DENIED', 1],
      ['EMERGENCY', 'REASON_DENIED', 1],
    ]);
  });
});
