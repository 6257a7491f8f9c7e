import { createServer as createHttpServer, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/**
 * Local listeners that must never be contacted: plain http and https (with a certificate the product trusts in
 * test mode, so a connection that got through would also complete TLS and show its request). Both listen on a
 * random port on every loopback address (dual-stack `::`, so 127.0.0.1 and ::1 alike). Every TCP connection is
 * recorded, whether or not a request follows.
 */
export interface Contact {
  listener: 'http' | 'https';
  at: number;
  from: string;
  request?: string;
}

export class Canaries {
  readonly contacts: Contact[] = [];
  private readonly servers: Server[] = [];
  httpPort = 0;
  httpsPort = 0;

  static async start(tls: { key: string; cert: string }): Promise<Canaries> {
    const c = new Canaries();
    const onRequest =
      (listener: 'http' | 'https') =>
      (
        req: { method?: string; url?: string; headers: Record<string, unknown> },
        res: { writeHead(s: number): { end(): void } },
      ) => {
        const last = [...c.contacts].reverse().find((x) => x.listener === listener && !x.request);
        const what = `${req.method} ${String(req.headers.host ?? '')}${req.url ?? ''}`.slice(0, 300);
        if (last) last.request = what;
        else c.contacts.push({ listener, at: Date.now(), from: 'request', request: what });
        res.writeHead(418).end();
      };
    const http = createHttpServer(onRequest('http'));
    const https = createHttpsServer({ key: tls.key, cert: tls.cert }, onRequest('https'));
    for (const [name, server] of [
      ['http', http],
      ['https', https],
    ] as const) {
      server.on('connection', (s: Socket) =>
        c.contacts.push({ listener: name, at: Date.now(), from: `${s.remoteAddress}:${s.remotePort}` }),
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host: '::', ipv6Only: false }, () => resolve());
      });
      c.servers.push(server);
    }
    c.httpPort = (http.address() as { port: number }).port;
    c.httpsPort = (https.address() as { port: number }).port;
    return c;
  }

  count(): number {
    return this.contacts.length;
  }

  async close(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections?.();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}
