import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
  /** What the receiver answered: only a 2xx acknowledges the batch. */
  status: number;
}

/**
 * A real HTTP receiver for SIEM tests: records every POST (headers and raw body, before it answers), and can be
 * made to fail (status), to answer slowly (delayMs) or to drop connections (down). Loopback only.
 */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  status = 200;
  delayMs = 0;
  inFlight = 0;
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = this.status;
        this.requests.push({
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
          at: Date.now(),
          status,
        });
        this.inFlight++;
        setTimeout(() => {
          this.inFlight--;
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(status < 300 ? '{"ok":true}' : '{"error":"unavailable"}');
        }, this.delayMs);
      });
    });
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Events of every acknowledged (2xx) request, in arrival order, as their parsed records: what was delivered. */
  records(parse: (r: ReceivedRequest) => unknown[] = webhookEvents): unknown[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300).flatMap(parse);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export const webhookEvents = (r: ReceivedRequest): unknown[] =>
  (JSON.parse(r.body.toString('utf8')) as { events: unknown[] }).events;
export const jsonLines = (r: ReceivedRequest): unknown[] =>
  r.body
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
/** Splunk HEC batches: JSON objects one after another. */
export const hecEvents = (r: ReceivedRequest): unknown[] =>
  r.body
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
