import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { freePort, sleep } from './processes';

/**
 * A private `redis-server` on a random loopback port with no persistence, so a suite can kill and restart
 * Redis under the product without touching the machine's shared Redis. A restart loses every key, which is the
 * harsher of the two realistic outcomes (a restart with AOF keeps them).
 */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private output = '';
  restarts = 0;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.spawn();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Everything redis-server wrote (scanned for key material like every other log). */
  log(): string {
    return this.output;
  }

  private async spawn(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`redis-server exited with ${child.exitCode}: ${this.output.slice(-500)}`);
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined); // refused while the server boots: expected, and retried below
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        /* not up yet */
      } finally {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${this.url}`);
      await sleep(50);
    }
  }

  /** SIGKILL (no goodbye to clients), stay down for `downMs`, start again on the same port with no data. */
  async restart(downMs = 1_000): Promise<void> {
    await this.kill();
    await sleep(downMs);
    await this.spawn();
    this.restarts++;
  }

  private async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    this.child = null;
  }
}
