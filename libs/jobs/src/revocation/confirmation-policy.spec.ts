import { CLEAN_RECORD, decide, ConfirmationPolicy, AccessRecord, ProbeResult } from './confirmation-policy';

const policy: ConfirmationPolicy = { confirmations: 3, windowMs: 60_000 };
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number): Date => new Date(t0.getTime() + s * 1000);

function run(results: Array<[number, 'ok' | ProbeResult]>, control: 'healthy' | 'unhealthy' | 'unknown' = 'healthy') {
  let rec: AccessRecord = CLEAN_RECORD;
  const verdicts: string[] = [];
  for (const [s, r] of results) {
    const d = decide(rec, r === 'ok' ? { kind: 'ok' } : r, at(s), policy, control);
    rec = d.record;
    verdicts.push(d.verdict);
  }
  return verdicts;
}

const denied = { kind: 'failed', errorClass: 'access_denied' } as const;
const throttled = { kind: 'failed', errorClass: 'throttled' } as const;
const unavailable = { kind: 'failed', errorClass: 'unavailable' } as const;
const ourFault = { kind: 'failed', errorClass: 'credentials_expired' } as const;

describe('revocation confirmation policy', () => {
  it('shreds only after N revocation-class results spanning the window', () => {
    expect(
      run([
        [0, denied],
        [30, denied],
        [61, denied],
      ]),
    ).toEqual(['suspect', 'suspect', 'shred']);
  });

  it('does not shred when N results arrive faster than the window (IAM propagation)', () => {
    expect(
      run([
        [0, denied],
        [1, denied],
        [2, denied],
        [3, denied],
      ]),
    ).toEqual(['suspect', 'suspect', 'suspect', 'suspect']);
    expect(
      run([
        [0, denied],
        [1, denied],
        [2, denied],
        [60, denied],
      ])[3],
    ).toBe('shred');
  });

  it('a success in between restarts the count', () => {
    expect(
      run([
        [0, denied],
        [30, denied],
        [40, 'ok'],
        [61, denied],
        [90, denied],
      ]),
    ).toEqual(['suspect', 'suspect', 'restore', 'suspect', 'suspect']);
  });

  it('transient and our-fault classes never shred, however many', () => {
    const many = Array.from(
      { length: 50 },
      (_, i) => [i * 10, i % 3 === 0 ? throttled : i % 3 === 1 ? unavailable : ourFault] as [number, typeof throttled],
    );
    expect(new Set(run(many))).toEqual(new Set(['degraded']));
  });

  it('transient results neither confirm nor reset a pending revocation', () => {
    expect(
      run([
        [0, denied],
        [20, throttled],
        [30, denied],
        [50, unavailable],
        [61, denied],
      ]),
    ).toEqual(['suspect', 'degraded', 'suspect', 'degraded', 'shred']);
  });

  it('holds when the positive control says our own access is broken', () => {
    expect(
      run(
        [
          [0, denied],
          [30, denied],
          [61, denied],
        ],
        'unhealthy',
      ),
    ).toEqual(['suspect', 'suspect', 'suspect']);
    expect(
      run(
        [
          [0, denied],
          [30, denied],
          [61, denied],
        ],
        'unknown',
      )[2],
    ).toBe('shred');
  });

  it('each revocation class counts (disabled, pending deletion, not found, destroyed)', () => {
    const seq = (['key_disabled', 'key_pending_deletion', 'key_not_found', 'key_destroyed'] as const).map(
      (c, i): [number, ProbeResult] => [i * 30, { kind: 'failed', errorClass: c }],
    );
    expect(run(seq)).toEqual(['suspect', 'suspect', 'shred', 'shred']);
  });

  it('rejects a nonsensical policy with a message naming it', () => {
    expect(() => decide(CLEAN_RECORD, denied, t0, { confirmations: 0, windowMs: 1 }, 'healthy')).toThrow(
      /confirmations/,
    );
    expect(() => decide(CLEAN_RECORD, denied, t0, { confirmations: 1, windowMs: -1 }, 'healthy')).toThrow(/window/);
  });
});

describe("a hold on the vendor canary's word", () => {
  it('holds a confirmed revocation in suspect and says why; the same record shreds once the control is healthy', () => {
    const first = decide(CLEAN_RECORD, denied, at(0), policy, 'healthy');
    const second = decide(first.record, denied, at(30), policy, 'healthy');
    const why = 'the vendor-owned canary on aws fails too (access_denied, AccessDenied)';
    const held = decide(second.record, denied, at(61), policy, 'unhealthy', why);
    expect(held.verdict).toBe('suspect');
    expect(held.reason).toContain(why);
    expect(held.reason).toMatch(/holding$/);
    expect(decide(held.record, denied, at(62), policy, 'healthy').verdict).toBe('shred');
  });
});
