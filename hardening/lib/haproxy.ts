import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../../stack/processes';

export interface Frontend {
  name: string;
  port: number;
  /** Ports of the replicas behind it (loopback). */
  backends: number[];
  /** Health check path (answers 200 when the replica can serve). */
  check: string;
}

/** HAProxy's version line, or null when the binary is not installed (Debian: apt-get install haproxy). */
export function haproxyVersion(): string | null {
  const r = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return /HAProxy version (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

/**
 * A local HAProxy in front of API replicas, configured like the production one (deploy/haproxy): round robin, health
 * checks on the readiness route every 300 ms (two failures take a replica out, one success brings it back), and a
 * request that found a dead connection is retried once on another replica. Idempotent GETs only are retried on an
 * empty answer; a POST is never replayed.
 */
export class LocalHaproxy {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly out: { text: string },
  ) {}

  static async start(frontends: Frontend[]): Promise<LocalHaproxy> {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-haproxy-'));
    const cfg = [
      'global',
      '  maxconn 4096',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  retries 1',
      '  option redispatch',
      '  retry-on conn-failure empty-response',
      ...frontends.flatMap((f) => [
        `frontend ${f.name}`,
        `  bind 127.0.0.1:${f.port}`,
        `  default_backend ${f.name}-replicas`,
        `backend ${f.name}-replicas`,
        '  balance roundrobin',
        `  option httpchk GET ${f.check}`,
        '  http-check expect status 200',
        '  default-server inter 300ms fall 2 rise 1',
        ...f.backends.map((p, i) => `  server r${i} 127.0.0.1:${p} check`),
      ]),
      '',
    ].join('\n');
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, cfg);
    const check = spawnSync('haproxy', ['-c', '-q', '-f', file], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`haproxy refused its configuration: ${check.stderr}${check.stdout}`);
    const out = { text: '' };
    const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c: Buffer) => (out.text += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out.text += c.toString('utf8')));
    const lb = new LocalHaproxy(child, dir, out);
    const deadline = Date.now() + 10_000;
    for (const f of frontends) {
      for (;;) {
        try {
          await fetch(`http://127.0.0.1:${f.port}${f.check}`, { signal: AbortSignal.timeout(500) });
          break;
        } catch {
          if (Date.now() > deadline || child.exitCode !== null)
            throw new Error(`haproxy did not start: ${out.text.slice(-800)}`);
          await sleep(100);
        }
      }
    }
    return lb;
  }

  output(): string {
    return this.out.text;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise<void>((res) => this.child.once('exit', () => res()));
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
