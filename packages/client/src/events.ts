import { sleep } from './retry';

/** One event of `GET /internal/v1/events`. */
export interface KeyEvent {
  /** `shred`, `destroy`, `invalidate` (rotation, rekey, reinstate, rebinding) or a later kind. */
  readonly type: string;
  readonly workspaceId: string;
}

export interface EventStreamOptions {
  /** First reconnect delay (ms); doubles up to `maxBackoffMs`, with full jitter. Default 250. */
  minBackoffMs: number;
  /** Default 10 000. */
  maxBackoffMs: number;
}

export const DEFAULT_EVENT_STREAM: EventStreamOptions = { minBackoffMs: 250, maxBackoffMs: 10_000 };

export interface EventStreamHooks {
  /** Opens the stream (authenticated); the response body is read as text/event-stream. */
  open(signal: AbortSignal): Promise<Response>;
  onEvent(e: KeyEvent): void;
  /** The stream is (re)established: events from here on are seen. */
  onConnected(): void;
  /** The stream went down: events may be missed until it is back. */
  onDisconnected(err: unknown): void;
}

/**
 * Keeps one server-sent-event subscription open, reconnecting with jittered exponential backoff. Parses just the
 * parts of the format the server uses (`event:`, `data:`, comments, blank-line dispatch).
 */
export class EventSubscription {
  private readonly abort = new AbortController();
  private stopped = false;
  private running: Promise<void> | undefined;
  connected = false;

  constructor(
    private readonly hooks: EventStreamHooks,
    private readonly opts: EventStreamOptions = DEFAULT_EVENT_STREAM,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      let err: unknown = new Error('event stream ended');
      try {
        const res = await this.hooks.open(this.abort.signal);
        if (res.status !== 200 || !res.body) {
          await res.body?.cancel().catch(() => undefined);
          throw new Error(`event stream refused: HTTP ${res.status}`);
        }
        await this.read(res.body, () => {
          attempt = 0;
        });
      } catch (e) {
        err = e;
      }
      if (this.connected) {
        this.connected = false;
        this.hooks.onDisconnected(err);
      }
      if (this.stopped) return;
      const window = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** Math.min(attempt++, 20));
      await sleep(this.opts.minBackoffMs / 2 + Math.random() * window, this.abort.signal);
    }
  }

  private async read(body: ReadableStream<Uint8Array>, onReady: () => void): Promise<void> {
    const decoder = new TextDecoder();
    let text = '';
    let event = 'message';
    let data = '';
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      // A server that never sends a newline must not make us buffer forever.
      if (text.length > 1_000_000) throw new Error('event stream line too long');
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, nl).replace(/\r$/, '');
        text = text.slice(nl + 1);
        if (line === '') {
          if (event === 'ready') {
            this.connected = true;
            onReady();
            this.hooks.onConnected();
          } else if (data) this.dispatch(event, data);
          event = 'message';
          data = '';
        } else if (line.startsWith(':')) continue;
        else if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
    }
  }

  private dispatch(event: string, data: string): void {
    try {
      const d = JSON.parse(data) as { workspaceId?: unknown };
      if (typeof d.workspaceId === 'string') this.hooks.onEvent({ type: event, workspaceId: d.workspaceId });
    } catch {
      // not ours to act on
    }
  }
}
