import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * The worker's small HTTP side door: /metrics (prom-client), /healthz (process alive), /readyz (Postgres and
 * Redis reachable). Bound to the configured host (loopback by default): it is for the scraper, not the world.
 */
export async function startMetricsServer(
  registry: Registry,
  host: string,
  port: number,
  ready: () => Promise<boolean>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET')
      return reply(405, 'application/json', '{"error":{"code":"METHOD_NOT_ALLOWED","message":"GET only"}}');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, registry.contentType, text),
        () =>
          reply(500, 'application/json', '{"error":{"code":"METRICS_FAILED","message":"metrics collection failed"}}'),
      );
      return;
    }
    if (path === '/healthz') return reply(200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      ready().then(
        (ok) => reply(ok ? 200 : 503, 'application/json', JSON.stringify({ status: ok ? 'ready' : 'not_ready' })),
        () => reply(503, 'application/json', '{"status":"not_ready"}'),
      );
      return;
    }
    reply(404, 'application/json', '{"error":{"code":"NOT_FOUND","message":"no such route"}}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
