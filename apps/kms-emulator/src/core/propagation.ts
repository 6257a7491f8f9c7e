import type { Cloud } from './faults';

/**
 * Propagation: real clouds do not apply a change to key state, a key policy, IAM, RBAC or a binding everywhere at
 * once. AWS KMS is eventually consistent, Azure's RBAC refusal asks the caller to "observe propagation time", and
 * Google documents IAM changes as "typically within 2 minutes, in some cases 7 minutes or more". While a change
 * converges, answers alternate between the old and the new value.
 *
 * Off by default (every change is visible at once). Per cloud: `delayMs` during which only the old value is served,
 * then `flapMs` during which each read sees the old or the new value at random (new with probability `newRate`),
 * drawn from a seeded generator so a failing run can be replayed; after that the new value only.
 *
 * A cloud emulator calls `changing(cloud, subject, before)` just before it mutates a subject (e.g. a key's enabled
 * flags, a policy's bindings) and reads through `view(cloud, subject, current)`. Several changes in a row each
 * converge on their own schedule, in order: a later change is never seen without the earlier ones.
 */
export interface PropagationSettings {
  delayMs: number;
  flapMs: number;
  /** Probability that a read during the flapping period sees the new value; default 0.5. */
  newRate: number;
  /** Seed of the generator behind the old/new draws; the same seed and reads give the same answers. */
  seed: number;
}

interface Pending {
  /** The value before this change. */
  before: unknown;
  at: number;
}

const CLOUDS: ReadonlySet<string> = new Set(['aws', 'azure', 'gcp']);
const MAX_PENDING_PER_SUBJECT = 64;

export class Propagation {
  private readonly settings = new Map<Cloud, PropagationSettings>();
  private readonly rngs = new Map<Cloud, () => number>();
  private readonly pending = new Map<string, Pending[]>();
  private readonly counts = new Map<Cloud, { old: number; new: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Set (or with null clear) one cloud's propagation; validates like the fault rules do. */
  configure(cloud: Cloud, input: Partial<PropagationSettings> | null): PropagationSettings | null {
    if (!CLOUDS.has(cloud)) throw new Error('cloud must be aws, azure or gcp');
    if (input === null) {
      this.settings.delete(cloud);
      this.rngs.delete(cloud);
      for (const k of [...this.pending.keys()]) if (k.startsWith(`${cloud}\u0000`)) this.pending.delete(k);
      return null;
    }
    const s: PropagationSettings = {
      delayMs: input.delayMs ?? 0,
      flapMs: input.flapMs ?? 0,
      newRate: input.newRate ?? 0.5,
      seed: input.seed ?? 1,
    };
    for (const f of ['delayMs', 'flapMs', 'seed'] as const) {
      if (!(typeof s[f] === 'number' && Number.isFinite(s[f]) && s[f] >= 0))
        throw new Error(`${f} must be a non-negative number`);
    }
    if (!(typeof s.newRate === 'number' && s.newRate >= 0 && s.newRate <= 1))
      throw new Error('newRate must be a number in [0, 1]');
    this.settings.set(cloud, s);
    this.rngs.set(cloud, mulberry32(Math.floor(s.seed)));
    this.counts.set(cloud, { old: 0, new: 0 });
    return { ...s };
  }

  list(): Array<PropagationSettings & { cloud: Cloud; pending: number; served: { old: number; new: number } }> {
    return [...this.settings].map(([cloud, s]) => ({
      cloud,
      ...s,
      pending: [...this.pending].filter(([k]) => k.startsWith(`${cloud}\u0000`)).reduce((n, [, v]) => n + v.length, 0),
      served: { ...(this.counts.get(cloud) ?? { old: 0, new: 0 }) },
    }));
  }

  clear(): void {
    this.settings.clear();
    this.rngs.clear();
    this.pending.clear();
    this.counts.clear();
  }

  /** Record that `subject` is about to change from `before` (a copy is kept). A no-op when propagation is off. */
  changing(cloud: Cloud, subject: string, before: unknown): void {
    const s = this.settings.get(cloud);
    if (!s || s.delayMs + s.flapMs === 0) return;
    const key = `${cloud}\u0000${subject}`;
    const list = this.pending.get(key) ?? [];
    list.push({ before: structuredClone(before), at: this.now() });
    // A subject changed faster than it converges: the oldest changes are taken as converged.
    if (list.length > MAX_PENDING_PER_SUBJECT) list.splice(0, list.length - MAX_PENDING_PER_SUBJECT);
    this.pending.set(key, list);
  }

  /** The value a read sees now: the current one, or an older one whose change has not reached this read yet. */
  view<T>(cloud: Cloud, subject: string, current: T): T {
    const key = `${cloud}\u0000${subject}`;
    const list = this.pending.get(key);
    const s = this.settings.get(cloud);
    if (!list || !s) return current;
    const now = this.now();
    // Drop changes that have converged everywhere (only from the front: the order of changes is kept).
    while (list.length && now >= list[0].at + s.delayMs + s.flapMs) list.shift();
    if (!list.length) {
      this.pending.delete(key);
      return current;
    }
    // Walk the pending changes in order; stop at the first this read does not see yet.
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      const age = now - c.at;
      const seen = age >= s.delayMs + s.flapMs ? true : age < s.delayMs ? false : this.draw(cloud, s);
      if (!seen) {
        this.served(cloud, 'old');
        return c.before as T;
      }
    }
    this.served(cloud, 'new');
    return current;
  }

  private draw(cloud: Cloud, s: PropagationSettings): boolean {
    return (this.rngs.get(cloud) ?? Math.random)() < s.newRate;
  }

  private served(cloud: Cloud, which: 'old' | 'new'): void {
    const c = this.counts.get(cloud);
    if (c) c[which]++;
  }
}

/** A small seeded generator (mulberry32): reproducible draws, not for anything secret. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
