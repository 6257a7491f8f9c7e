/** SIEM streaming settings, read from KEYHOLD_SIEM_* (API: URL checks; worker: delivery). */
export interface SiemSettings {
  /**
   * Dev/test only: destinations may name a loopback address (and plain http on it). Refused in production mode;
   * private, link-local and metadata addresses stay refused either way.
   */
  readonly allowLoopback: boolean;
  /** How often each worker looks for destinations with undelivered events. */
  readonly pollMs: number;
  /** Most events per POST. */
  readonly batchEvents: number;
  /** Most body bytes per POST (one event larger than this still goes alone). */
  readonly batchBytes: number;
  /** Whole-request deadline (connect, send, answer). */
  readonly timeoutMs: number;
  /** Consecutive failed attempts before the destination is dead-lettered. */
  readonly maxFailures: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** Destinations delivered at once per worker. */
  readonly concurrency: number;
  /** One job delivers batches for at most this long, then yields to other destinations. */
  readonly runBudgetMs: number;
}

export const SIEM_DEFAULTS: SiemSettings = {
  allowLoopback: false,
  pollMs: 1_000,
  batchEvents: 500,
  batchBytes: 1024 * 1024,
  timeoutMs: 10_000,
  maxFailures: 10,
  backoffBaseMs: 1_000,
  backoffCapMs: 300_000,
  concurrency: 4,
  runBudgetMs: 15_000,
};

const INTS: Array<[keyof SiemSettings, string, number, number]> = [
  ['pollMs', 'KEYHOLD_SIEM_POLL_MS', 50, 600_000],
  ['batchEvents', 'KEYHOLD_SIEM_BATCH_EVENTS', 1, 10_000],
  ['batchBytes', 'KEYHOLD_SIEM_BATCH_BYTES', 1024, 16 * 1024 * 1024],
  ['timeoutMs', 'KEYHOLD_SIEM_TIMEOUT_MS', 100, 300_000],
  ['maxFailures', 'KEYHOLD_SIEM_MAX_FAILURES', 1, 1_000],
  ['backoffBaseMs', 'KEYHOLD_SIEM_BACKOFF_BASE_MS', 10, 3_600_000],
  ['backoffCapMs', 'KEYHOLD_SIEM_BACKOFF_CAP_MS', 10, 86_400_000],
  ['concurrency', 'KEYHOLD_SIEM_CONCURRENCY', 1, 256],
  ['runBudgetMs', 'KEYHOLD_SIEM_RUN_BUDGET_MS', 100, 600_000],
];

/** A bad value stops start-up with a message naming the variable. */
export function loadSiemSettings(
  env: Readonly<Record<string, string | undefined>>,
  mode: string,
  over: Partial<SiemSettings> = {},
): SiemSettings {
  const s: Record<string, unknown> = { ...SIEM_DEFAULTS };
  for (const [key, name, min, max] of INTS) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    s[key] = n;
  }
  const loop = env.KEYHOLD_SIEM_ALLOW_LOOPBACK;
  if (loop !== undefined && loop !== '' && loop !== 'true' && loop !== 'false')
    throw new Error('KEYHOLD_SIEM_ALLOW_LOOPBACK must be true or false');
  s.allowLoopback = loop === 'true';
  const out = { ...(s as unknown as SiemSettings), ...over };
  if (out.allowLoopback && mode === 'production')
    throw new Error('KEYHOLD_SIEM_ALLOW_LOOPBACK is for dev/test only: it is refused when KEYHOLD_MODE=production');
  return out;
}
