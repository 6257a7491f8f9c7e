import { Propagation } from '../../../../apps/kms-emulator/src/core/propagation';
import { AccessRecord, CLEAN_RECORD, ConfirmationPolicy, decide, flapWindowOf, Verdict } from './confirmation-policy';

/**
 * The confirmation policy against propagation flapping, with the emulators' own propagation engine standing in for
 * a cloud whose answers alternate between old and new while a change converges (seeded, so every run is the same).
 * Production settings: probes every 60 s, 3 confirmations over 180 s, flapping window 4 × 180 s = 12 min (longer than
 * the 10 minutes Azure documents for role assignments to propagate).
 */
const policy: ConfirmationPolicy = { confirmations: 3, windowMs: 180_000 };
const INTERVAL = 60_000;
const denied = { kind: 'failed', errorClass: 'access_denied' } as const;

/** Probes a grant every INTERVAL for `horizonMs`; `changes` flip the grant at the given times. Returns when it shredded. */
function simulate(
  seed: number,
  flapMs: number,
  changes: Array<{ at: number; granted: boolean }>,
  horizonMs: number,
): { shredAt: number | null; verdicts: Verdict[] } {
  let clock = 0;
  const p = new Propagation(() => clock);
  p.configure('gcp', { delayMs: 0, flapMs, seed, newRate: 0.5 });
  let granted = true;
  let rec: AccessRecord = CLEAN_RECORD;
  const verdicts: Verdict[] = [];
  const pending = [...changes];
  for (clock = 0; clock <= horizonMs; clock += INTERVAL) {
    while (pending.length && pending[0].at <= clock) {
      // The change happens at its own time, between probes.
      const probeAt = clock;
      clock = pending[0].at;
      p.changing('gcp', 'grant', granted);
      granted = pending.shift()!.granted;
      clock = probeAt;
    }
    const seen = p.view('gcp', 'grant', granted);
    const d = decide(rec, seen ? { kind: 'ok' } : denied, new Date(clock), policy, 'healthy');
    rec = d.record;
    verdicts.push(d.verdict);
    if (d.verdict === 'shred') return { shredAt: clock, verdicts };
  }
  return { shredAt: null, verdicts };
}

describe('propagation flapping (confirmation policy)', () => {
  const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

  it('a grant revoked and restored, whose answers settle within the confirmation window, never shreds (300 seeded runs)', () => {
    // Revoked at t=0 by mistake and restored 20 s later; each change flaps for 150 s: denials can only be answered
    // before 170 s, less than the 180 s window, so neither a clean run nor the majority can confirm.
    let shreds = 0;
    let mixed = 0;
    for (const seed of SEEDS) {
      const r = simulate(
        seed,
        150_000,
        [
          { at: 0, granted: false },
          { at: 20_000, granted: true },
        ],
        60 * 60_000,
      );
      if (r.shredAt !== null) shreds++;
      if (r.verdicts.includes('suspect')) mixed++;
    }
    expect(shreds).toBe(0);
    // The runs did see denials (otherwise this would prove nothing).
    expect(mixed).toBeGreaterThan(100);
  });

  it('a restored grant flapping for 10 minutes shreds only on a clean run of denials spanning the window (rate reported)', () => {
    // Flapping longer than the window: a run of stale denials with no success in between is what a revocation looks
    // like, so the rate depends on how often the probes look. Once any success was seen, the majority rule holds it.
    let shreds = 0;
    for (const seed of SEEDS) {
      const r = simulate(
        seed,
        600_000,
        [
          { at: 0, granted: false },
          { at: 120_000, granted: true },
        ],
        60 * 60_000,
      );
      if (r.shredAt !== null) shreds++;
    }
    console.log(
      `restored grant under 10 min of flapping, probes every 60 s: ${shreds}/${SEEDS.length} shredded by a clean run of stale denials`,
    );
    expect(shreds).toBeLessThan(SEEDS.length * 0.05);
  });

  it('a real revocation flapping for 10 minutes still shreds in every run, within max(flapping window, 2 × flapping) + one interval', () => {
    const flapMs = 600_000;
    const bound = Math.max(flapWindowOf(policy), 2 * flapMs) + INTERVAL;
    const times: number[] = [];
    for (const seed of SEEDS) {
      const r = simulate(seed, flapMs, [{ at: 0, granted: false }], 60 * 60_000);
      expect(r.shredAt).not.toBeNull();
      times.push(r.shredAt!);
    }
    const max = Math.max(...times);
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
    expect(max).toBeLessThanOrEqual(bound);
    // Never before the flapping window when answers were mixed, never before the confirmation window otherwise.
    expect(Math.min(...times)).toBeGreaterThanOrEqual(policy.windowMs);
    console.log(
      `real revocation under 10 min of flapping: shred after median ${median / 1000} s, max ${max / 1000} s (bound ${bound / 1000} s)`,
    );
  });

  it('without flapping a revocation shreds as before: 3 denials over the 180 s window', () => {
    const r = simulate(1, 0, [{ at: 0, granted: false }], 10 * 60_000);
    expect(r.shredAt).toBe(180_000);
  });

  it('an allow restarts the consecutive count but not the episode; a whole window of allows closes it', () => {
    const at = (s: number) => new Date(s * 1000);
    let rec = decide(CLEAN_RECORD, denied, at(0), policy, 'healthy').record;
    rec = decide(rec, { kind: 'ok' }, at(60), policy, 'healthy').record;
    expect(rec).toMatchObject({ consecutiveDefinitive: 0, episodeDenials: 1, episodeAllows: 1 });
    expect(rec.episodeStartedAt).toEqual(at(0));
    rec = decide(rec, { kind: 'ok' }, at(240), policy, 'healthy').record;
    expect(rec).toEqual(CLEAN_RECORD);
  });

  it('refuses a flapping window shorter than the confirmation window', () => {
    expect(() =>
      decide(CLEAN_RECORD, denied, new Date(0), { confirmations: 3, windowMs: 180_000, flapWindowMs: 1000 }, 'healthy'),
    ).toThrow(/flapping window/);
  });
});
