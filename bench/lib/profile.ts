import { readFileSync } from 'node:fs';

/**
 * Summarises a V8 .cpuprofile: self time per function and per owner (our code in dist/apps + dist/libs, each
 * node_modules package, Node internals, GC), so the report can say what in *our* code costs time per request.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Requests served while profiling (when known): turns self time into CPU µs per request. */
  requests: number | null;
  busyUsPerRequest: number | null;
  /** Top functions by self time (excluding idle). */
  top: Array<{ fn: string; where: string; selfMs: number; pct: number; usPerRequest: number | null }>;
  /** Self time grouped by owner: `ours:apps/api`, `pkg:fastify`, `node:internal`, `(garbage collector)`, … */
  byOwner: Array<{ owner: string; selfMs: number; pct: number; usPerRequest: number | null }>;
}

export function ownerOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') && fn !== '(anonymous)' ? fn : '(native)';
  // the innermost node_modules segment names the package (nested copies, e.g. Nest's own fastify)
  const nm = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].pop();
  if (nm) return `pkg:${nm[1]}`;
  const ours = /dist\/((?:apps|libs)\/[^/]+)/.exec(url);
  if (ours) return `ours:${ours[1]}`;
  if (url.startsWith('node:')) return 'node:internal';
  return url.includes('/bench/') ? 'bench-preload' : 'other';
}

export function summariseProfile(file: string, topN = 25, requests: number | null = null): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0; // a sample's time is the gap to the next one
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
  }
  const perFn = new Map<string, { fn: string; where: string; us: number }>();
  const perOwner = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const fn = functionName || '(anonymous)';
    const where = url
      ? `${url.replace(/^file:\/\//, '').replace(/^.*?\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}`
      : '';
    const key = `${fn}@${where}`;
    const entry = perFn.get(key) ?? { fn, where, us: 0 };
    entry.us += us;
    perFn.set(key, entry);
    const owner = ownerOf(url, fn);
    perOwner.set(owner, (perOwner.get(owner) ?? 0) + us);
  }
  const pct = (us: number): number => Math.round((1000 * us) / Math.max(1, busyUs)) / 10;
  const perReq = (us: number): number | null =>
    requests && requests > 0 ? Math.round((10 * us) / requests) / 10 : null;
  return {
    file,
    totalMs: Math.round(busyUs / 1000),
    requests,
    busyUsPerRequest: perReq(busyUs),
    top: [...perFn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({
        fn: e.fn,
        where: e.where,
        selfMs: Math.round(e.us / 1000),
        pct: pct(e.us),
        usPerRequest: perReq(e.us),
      })),
    byOwner: [...perOwner.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([owner, us]) => ({ owner, selfMs: Math.round(us / 1000), pct: pct(us), usPerRequest: perReq(us) })),
  };
}
