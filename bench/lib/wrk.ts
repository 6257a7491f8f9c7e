import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dekPath, segmentId } from './keyhold';
import type { LoadResult, LoadTarget } from './load-spec';
import { readProcCpuSeconds } from './procs';

/** Requests per load: every connection cycles through the same prebuilt list (random access, fixed generator cost). */
const PREBUILT_REQUESTS = 1_000;

/** wrk (C, epoll) when installed: a generator that costs far less per request than the server it measures. */
export function wrkAvailable(): boolean {
  if (process.env.BENCH_LOAD_GENERATOR === 'autocannon') return false;
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return r.error === undefined && /wrk/.test(`${r.stdout}${r.stderr}`);
}

/** The GET requests of one load (path, and its token when tokens differ per workspace): fixed, or random DEK paths. */
export function loadRequests(target: LoadTarget): Array<{ path: string; token?: string }> {
  const pick = (n: number): number => Math.floor(Math.random() * n);
  switch (target.kind) {
    case 'fixed':
      return Array.from({ length: PREBUILT_REQUESTS }, () => ({ path: target.path }));
    case 'dek':
      return Array.from(
        {
          length: Math.min(
            target.prebuilt ?? PREBUILT_REQUESTS,
            target.workspaceIds.length * target.segmentsPerWorkspace,
          ),
        },
        () => {
          const w = pick(target.workspaceIds.length);
          return {
            path: dekPath(target.workspaceIds[w], segmentId(pick(target.segmentsPerWorkspace))),
            token: target.tokens?.[w],
          };
        },
      );
    case 'batch':
      throw new Error('wrk runs GET loads only (batches use autocannon)');
  }
}

/** The GET paths of one load (see loadRequests). */
export function loadPaths(target: LoadTarget): string[] {
  return loadRequests(target).map((r) => r.path);
}

/**
 * The Lua script: requests are formatted once in init(); request() hands out the next one. The ceiling and the DEK
 * load run the same script, so the generator's per-request cost is identical on both sides of the ratio.
 */
function script(requests: Array<{ path: string; token?: string }>, headers: Record<string, string>): string {
  const lua = (s: string) => JSON.stringify(s); // JSON string literals are valid Lua string literals for ASCII
  const tokens = [...new Set(requests.map((r) => r.token).filter((t): t is string => t !== undefined))];
  const tokenIndex = new Map(tokens.map((t, i) => [t, i + 1]));
  return `
local paths = { ${requests.map((r) => lua(r.path)).join(', ')} }
local auth = { ${tokens.map((t) => lua(`Bearer ${t}`)).join(', ')} }
local which = { ${requests.map((r) => (r.token ? tokenIndex.get(r.token) : 0)).join(', ')} }
local headers = { ${Object.entries(headers)
    .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
    .join(', ')} }
local reqs = {}
local i = 0
function init(args)
  for k, p in ipairs(paths) do
    local h = headers
    if which[k] > 0 then
      h = {}
      for hk, hv in pairs(headers) do h[hk] = hv end
      h["authorization"] = auth[which[k]]
    end
    reqs[k] = wrk.format("GET", p, h)
  end
  i = math.random(#reqs) - 1
end
function request()
  i = (i % #reqs) + 1
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nWRK-JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
`;
}

/** One wrk run on one thread (one core), `connections` connections, fixed duration; CPU of both sides accounted. */
export async function runWrk(
  logDir: string,
  name: string,
  baseUrl: string,
  target: LoadTarget,
  opts: { connections: number; durationSeconds: number; serverPid?: number },
): Promise<LoadResult> {
  mkdirSync(logDir, { recursive: true });
  const headers: Record<string, string> = {};
  if ('token' in target && target.token) headers.authorization = `Bearer ${target.token}`;
  if (target.kind === 'dek' && target.headers) Object.assign(headers, target.headers);
  const file = join(logDir, `wrk-${name}.lua`);
  writeFileSync(file, script(loadRequests(target), headers), { mode: 0o600 });
  const args = ['-t1', `-c${opts.connections}`, `-d${opts.durationSeconds}s`, '--timeout', '10s', '-s', file, baseUrl];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(join(logDir, `load-${name}.log`));
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    log.write(d);
  });
  child.stderr.on('data', (d: Buffer) => log.write(d));
  const cpu0 = { server: opts.serverPid ? readProcCpuSeconds(opts.serverPid) : 0, at: Date.now() };
  let genCpu = 0;
  const sampler = setInterval(() => {
    try {
      genCpu = readProcCpuSeconds(child.pid as number);
    } catch {
      /* exited */
    }
  }, 200);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearInterval(sampler);
  log.end();
  rmSync(file, { force: true }); // it holds a (short-lived) service token
  const wall = (Date.now() - cpu0.at) / 1000;
  const serverCpu = opts.serverPid ? readProcCpuSeconds(opts.serverPid) - cpu0.server : undefined;
  const m = /WRK-JSON (\{.*\})/.exec(out);
  if (code !== 0 || !m) throw new Error(`wrk (${name}) exited ${code} without a summary; see load-${name}.log`);
  const s = JSON.parse(m[1]) as {
    requests: number;
    duration_us: number;
    connect: number;
    read: number;
    write: number;
    status: number;
    timeout: number;
    p50_us: number;
    p99_us: number;
  };
  const seconds = s.duration_us / 1e6;
  const errors = s.connect + s.read + s.write;
  const ok = s.requests - s.status;
  return {
    type: 'load-result',
    rps: ok / seconds,
    requests: s.requests,
    ok2xx: ok,
    non2xx: s.status,
    errors,
    timeouts: s.timeout,
    statusCodes: {},
    p50Ms: Math.round(s.p50_us / 10) / 100,
    p99Ms: Math.round(s.p99_us / 10) / 100,
    durationSeconds: seconds,
    // The last sample (200 ms cadence) before wrk exited: a slight undercount, the same for every load.
    generatorCpuShare: Math.round((genCpu / wall) * 100) / 100,
    ...(serverCpu !== undefined
      ? {
          serverCpuShare: Math.round((serverCpu / wall) * 100) / 100,
          serverCpuUsPerRequest: s.requests > 0 ? Math.round(((serverCpu * 1e6) / s.requests) * 10) / 10 : undefined,
        }
      : {}),
    generator: 'wrk',
  };
}
