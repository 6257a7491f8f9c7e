import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sleep } from './redis-server';

/**
 * The real API entry point (dist/apps/api/src/main.js) as a child process on fixed ports, so the suite can run a
 * fleet behind a load balancer and SIGKILL a replica and bring it back on the same address. The environment is the
 * worker's (workerEnvironment: the same configuration, keys and provider settings) plus the listener settings.
 */
export class ApiProcess {
  private child: ChildProcess | null = null;
  private out = '';
  restarts = 0;

  constructor(
    readonly name: string,
    readonly port: number,
    /** The internal listener (DEK API, service tokens, /metrics). */
    readonly internalPort: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  output(): string {
    return this.out;
  }

  /** Starts it and waits until /readyz answers 200. */
  async start(timeoutMs = 60_000): Promise<void> {
    const main = resolve(__dirname, '..', '..', 'apps', 'api', 'src', 'main.js');
    if (!__filename.endsWith('.js') || !existsSync(main)) throw new Error(`the API has not been built (${main}); run npm run build:server`);
    const child = spawn(process.execPath, [main], {
      cwd: resolve(__dirname, '..', '..', '..'),
      env: { ...this.env, PORT: String(this.port), HOST: '127.0.0.1', KEYHOLD_INTERNAL_PORT: String(this.internalPort), KEYHOLD_INTERNAL_HOST: '127.0.0.1', KEYHOLD_CONSOLE_DIR: join(__dirname, 'no-console') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (this.out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (this.out += c.toString('utf8')));
    this.child = child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`API ${this.name} exited while starting: ${this.out.slice(-1500)}`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 200) return;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    throw new Error(`API ${this.name} not ready after ${timeoutMs} ms: ${this.out.slice(-1500)}`);
  }

  /** Stops it with `signal` and waits for the exit (SIGKILL after 10 s of a graceful stop). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((res) => c.once('exit', () => res()));
    c.kill(signal);
    if (!(await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]))) {
      c.kill('SIGKILL');
      await exited;
    }
  }

  /** A crash and a restart on the same port (what a supervisor does), `downMs` apart. */
  async crashAndRestart(signal: NodeJS.Signals, downMs: number): Promise<void> {
    await this.stop(signal);
    await sleep(downMs);
    this.restarts++;
    await this.start();
  }
}
