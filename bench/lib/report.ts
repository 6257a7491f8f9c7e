/**
 * What a benchmark section hands back: either measured values or `null` with the reason it could not run (a part of
 * the product not built, a failed precondition). The runner never crashes on one section.
 */
export type SectionOutcome<T> = { ok: true; value: T; notes?: string[] } | { ok: false; reason: string };

export function measured<T>(value: T, notes?: string[]): SectionOutcome<T> {
  return notes && notes.length ? { ok: true, value, notes } : { ok: true, value };
}

export function skipped<T>(reason: string): SectionOutcome<T> {
  return { ok: false, reason };
}

/** A target from the issue: `check` answers true (met), false (missed) or null (not measured). */
export interface Target {
  name: string;
  goal: string;
  actual: string;
  met: boolean | null;
}

export function target(
  name: string,
  goal: string,
  actual: number | null | undefined,
  met: (v: number) => boolean,
  unit = '',
): Target {
  if (actual === null || actual === undefined || !Number.isFinite(actual))
    return { name, goal, actual: 'n/a', met: null };
  return { name, goal, actual: `${actual}${unit}`, met: met(actual) };
}

/** Plain-text table; missed targets are marked, never hidden. */
export function renderTable(targets: Target[]): string {
  const rows = targets.map((t) => [t.name, t.actual, t.goal, t.met === null ? 'NOT RUN' : t.met ? 'ok' : 'MISSED']);
  const header = ['measurement', 'actual', 'target', 'status'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
