import { Writable } from 'node:stream';
import type { KeyholdConfig } from '../libs/config/src';
import { createApiApp, type ApiApp, type ApiAppOptions } from '../apps/api/src/app';
import { entryPoint, NodeChild, sleep, spawnNode, waitForHttp } from './processes';

/**
 * The API of a harness run, in this process (`startApi`, the one place a harness builds it) or as the real entry
 * point in a child process (`ApiProcess`), which a suite can SIGKILL and bring back on the same address.
 */
export function startApi(config: KeyholdConfig, options: ApiAppOptions = {}): Promise<ApiApp> {
  return createApiApp(config, options);
}

/** A log destination that keeps every line in memory (tests prove nothing secret was written). */
export function logCapture(): { sink: Writable; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { sink, text: () => lines.join('') };
}

/** A log destination that drops everything (a second replica whose logs nobody reads). */
export function discardLogs(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

export interface ApiProcessOptions {
  name: string;
  /** The product's environment (configEnv, or bench's production environment). */
  env: NodeJS.ProcessEnv;
  /** The public listener's port. */
  port: number;
  /** The internal listener's (DEK API, service tokens, /metrics) port. */
  internalPort: number;
  execArgv?: string[];
  /** Output to `<logDir>/<name>.log` (otherwise kept in memory). */
  logDir?: string;
  /** An IPC channel to the child (the bench preload's commands). */
  ipc?: boolean;
}

/** apps/api/src/main on fixed ports; start() waits until both listeners answer /readyz. */
export class ApiProcess {
  private current: NodeChild | null = null;
  private previousOutput = '';
  restarts = 0;

  constructor(readonly options: ApiProcessOptions) {}

  get name(): string {
    return this.options.name;
  }
  get port(): number {
    return this.options.port;
  }
  get internalPort(): number {
    return this.options.internalPort;
  }
  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }
  get internalUrl(): string {
    return `http://127.0.0.1:${this.options.internalPort}`;
  }
  get child(): NodeChild {
    if (!this.current) throw new Error(`API ${this.name} has not been started`);
    return this.current;
  }

  /** Everything it wrote, over every restart. */
  output(): string {
    return this.previousOutput + (this.current?.output() ?? '');
  }

  async start(timeoutMs = 90_000): Promise<void> {
    const o = this.options;
    if (this.current) this.previousOutput += this.current.output();
    const { script, execArgv } = entryPoint('apps/api/src/main');
    const child = spawnNode(o.name, script, {
      env: {
        ...o.env,
        PORT: String(o.port),
        HOST: '127.0.0.1',
        KEYHOLD_INTERNAL_PORT: String(o.internalPort),
        KEYHOLD_INTERNAL_HOST: '127.0.0.1',
      },
      execArgv: [...execArgv, ...(o.execArgv ?? [])],
      logDir: o.logDir,
      ipc: o.ipc,
    });
    this.current = child;
    try {
      await waitForHttp(`${this.url}/readyz`, `API ${o.name}`, child, timeoutMs);
      await waitForHttp(`${this.internalUrl}/readyz`, `API ${o.name} (internal listener)`, child, 30_000);
    } catch (err) {
      await child.stop();
      throw err;
    }
  }

  /** Stops it with `signal` and waits for the exit (SIGKILL after 10 s of a graceful stop). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.current?.stop(10_000, signal);
  }

  /** A crash and a restart on the same ports (what a supervisor does), `downMs` apart. */
  async crashAndRestart(signal: NodeJS.Signals, downMs: number): Promise<void> {
    await this.stop(signal);
    await sleep(downMs);
    this.restarts++;
    await this.start();
  }
}
