import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from './processes';

/**
 * A private PostgreSQL cluster (initdb + pg_ctl) on a random loopback port, so the suite can restart Postgres
 * under the product without touching the machine's shared server. fsync is off: the cluster is thrown away.
 * Postgres refuses to run as root, so when the suite runs as root the cluster belongs to the `postgres` user.
 * `PrivatePostgres.start()` returns null, with the reason, when that is not possible here (no initdb, no user).
 */
export class PrivatePostgres {
  restarts = 0;

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
    private readonly asUser: string | null,
  ) {}

  static async start(): Promise<{ pg: PrivatePostgres | null; reason?: string }> {
    const bin = findBin();
    if (!bin) return { pg: null, reason: 'no initdb/pg_ctl found (PATH, /usr/lib/postgresql/*/bin)' };
    const root = userInfo().uid === 0;
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-hardening-pg-'));
    try {
      if (root) chownSync(dir, uid('postgres'), gid('postgres'));
      const pg = new PrivatePostgres(bin, dir, await freePort(), root ? 'postgres' : null);
      pg.run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
      pg.ctl('start');
      return { pg };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      return {
        pg: null,
        reason: `a private cluster could not be started: ${String((err as Error).message).slice(0, 200)}`,
      };
    }
  }

  /** The maintenance database URL (the suite creates its own database on this server). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Immediate shutdown (no checkpoint: what a crash looks like to clients), down for `downMs`, start again. */
  async restart(downMs = 1_000): Promise<void> {
    this.ctl('stop', ['-m', 'immediate']);
    await sleep(downMs);
    this.ctl('start');
    this.restarts++;
  }

  async stop(): Promise<void> {
    try {
      this.ctl('stop', ['-m', 'immediate']);
    } catch {
      /* already down */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private ctl(action: 'start' | 'stop', extra: string[] = []): void {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    this.run('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      '-t',
      '30',
      ...extra,
      ...(action === 'start' ? ['-o', opts] : []),
      action,
    ]);
  }

  private run(tool: string, args: string[]): void {
    const exe = join(this.bin, tool);
    if (this.asUser)
      execFileSync('runuser', ['-u', this.asUser, '--', exe, ...args], { stdio: 'pipe', timeout: 60_000 });
    else execFileSync(exe, args, { stdio: 'pipe', timeout: 60_000 });
  }
}

function findBin(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':'))
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  const base = '/usr/lib/postgresql';
  if (existsSync(base))
    for (const v of readdirSync(base).sort().reverse())
      if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  return null;
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}
function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}
