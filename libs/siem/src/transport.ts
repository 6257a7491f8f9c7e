import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { blockedAddressError, guardedLookup, isInternalAddress } from '@app/provider-azure';
import { isLoopbackAddress } from './destination-url';

export class SiemDeliveryError extends Error {
  override readonly name = 'SiemDeliveryError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * POSTs to destinations through agents whose `lookup` is the shared connect-time address guard (the one the
 * Azure key URLs use): a name that resolves to a private, link-local or metadata address is refused when the
 * socket connects, not only when the URL was saved. IP literals skip DNS, so they are checked here. No redirect
 * is followed (a 3xx is a failure): a receiver cannot bounce the worker onto an internal address.
 */
export class SiemTransport {
  private readonly https: HttpsAgent;
  private readonly http: HttpAgent;
  private readonly allow?: (address: string) => boolean;

  constructor(opts: { allowLoopback: boolean; maxSockets?: number; caPem?: string }) {
    this.allow = opts.allowLoopback ? isLoopbackAddress : undefined;
    const lookup = guardedLookup(new Map(), this.allow);
    this.https = new HttpsAgent({
      keepAlive: true,
      maxSockets: opts.maxSockets ?? 32,
      lookup,
      ca: opts.caPem ? [opts.caPem] : undefined,
    });
    this.http = new HttpAgent({ keepAlive: true, maxSockets: opts.maxSockets ?? 32, lookup });
  }

  async post(
    target: string,
    headers: Record<string, string>,
    body: Buffer,
    timeoutMs: number,
  ): Promise<{ status: number }> {
    const url = new URL(target);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && isInternalAddress(host) && !this.allow?.(host)) throw blockedAddressError(host);
    if (url.protocol === 'http:' && !this.allow) throw new SiemDeliveryError('plain http is refused');
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = url.protocol === 'https:' ? this.https : this.http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (err: Error | null, status?: number) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve({ status: status! });
      };
      const req = send(
        url,
        {
          method: 'POST',
          agent,
          headers: { ...headers, 'content-length': String(body.length), 'user-agent': 'Keyhold-SIEM/1' },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          // The answer body is not needed (and may be large): read and drop it so the socket can be reused.
          res.on('data', () => undefined);
          res.on('end', () =>
            status >= 200 && status < 300
              ? done(null, status)
              : done(new SiemDeliveryError(`receiver answered HTTP ${status}`, status)),
          );
          res.on('error', (e) => done(e));
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new SiemDeliveryError(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (e) => done(e));
      req.end(body);
    });
  }

  close(): void {
    this.https.destroy();
    this.http.destroy();
  }
}

/** What may be stored as a destination's last error: a class of failure, never headers, bodies or secrets. */
export function describeFailure(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (err instanceof SiemDeliveryError) return err.message;
  if (e?.code === 'EKEYHOLD_BLOCKED_ADDRESS') return 'refused: the destination resolves to an internal address';
  if (e?.code) return `connection failed (${e.code})`;
  return 'delivery failed';
}
