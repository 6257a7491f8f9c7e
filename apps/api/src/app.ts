import * as http from 'node:http';
import 'reflect-metadata';
import type { KeyholdConfig } from '@app/config';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { ApiModule } from './app.module';
import { createInternalListener, type InternalListener } from './http/internal-listener';
import { registerQueueDashboard } from './http/queue-dashboard';
import { serveConsole } from './http/console-static';
import { TracingInterceptor } from './http/tracing.interceptor';
import { DEV_MAILBOX_PATH, registerDevMailbox } from './dev/mailbox-route';
import { ErrorFilter } from './http/error-filter';
import { openApiDocument } from './http/openapi';
import { AppAuthContext, type AuthContext } from './http/auth';
import { sendFrameworkError } from './http/framework-errors';
import { apiHandles, type ApiHandles } from './handles';

export interface ApiApp {
  app: NestFastifyApplication;
  /** The public listener: console, admin API, admin sign-in. */
  url: string;
  /** The internal listener (DEK API, service tokens, /metrics): http(s)://host:port, '' when not listening. */
  internalUrl: string;
  /** The internal listener's Fastify instance (tests: inject, or reach its event hub). */
  internal: FastifyInstance;
  /** Handles on the container's singletons (tests and benchmarks inspect them; controllers never see them). */
  services: ApiHandles;
  /** Every route registered (method + Fastify URL), for the OpenAPI coverage check. */
  routes: Array<{ method: string; url: string }>;
  close(): Promise<void>;
}

export interface ApiAppOptions {
  /** Where logs go (tests capture them to prove nothing secret is written). */
  logDestination?: DestinationStream;
  logger?: Logger;
  /** Listen (default true); false = build only (inject-based tests). */
  listen?: boolean;
  /**
   * Serve GET /__bench/ceiling (benchmarks only: the denominator of the DEK fetch ratio). Default: env
   * KEYHOLD_BENCH_CEILING_ROUTE=1. Off unless asked for; never in the OpenAPI document.
   */
  benchCeilingRoute?: boolean;
}

/** `frameworkErrors` of the server options FastifyAdapter takes (its own copy of Fastify's types). */
type FrameworkErrorsOf<T> = T extends { frameworkErrors?: infer F }
  ? 'frameworkErrors' extends keyof T
    ? F
    : never
  : never;
type AdapterFrameworkErrors = NonNullable<FrameworkErrorsOf<FastifyAdapterOptions>>;
type FastifyAdapterOptions = Extract<ConstructorParameters<typeof FastifyAdapter>[0], { https?: unknown }>;

const adapterFrameworkErrors: AdapterFrameworkErrors = (err, _req, reply) => {
  // the reply type of the Fastify copy @nestjs/platform-fastify ships, at its default type parameters
  const r: Parameters<AdapterFrameworkErrors>[2] = reply;
  sendFrameworkError(err.code, r);
};

export const BENCH_CEILING_PATH = '/__bench/ceiling';
/** Exactly 80 bytes of JSON: the ceiling's body is the size of a typical small JSON answer. */
const BENCH_CEILING_BODY = JSON.stringify({ ok: true, service: 'keyhold', pad: 'x'.repeat(40) });

/**
 * The benchmark's ceiling: the same Fastify instance (the internal listener), hooks and HTTP stack as the DEK route, answering a fixed
 * body with no auth and no key lookup, so `DEK req/s ÷ ceiling req/s` isolates what the DEK logic costs.
 */
function registerBenchCeiling(fastify: FastifyInstance): void {
  fastify.get(BENCH_CEILING_PATH, (_req, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8').send(BENCH_CEILING_BODY);
  });
}

/**
 * Builds the API in-process: the Nest container (ApiModule: admin API) on Fastify with the OpenAPI document and the console (the
 * public listener), and the internal listener with the lean DEK routes and /metrics (http/internal-listener.ts). Used by main.ts, tests and benchmarks (port 0 = ephemeral).
 */
export async function createApiApp(config: KeyholdConfig, options: ApiAppOptions = {}): Promise<ApiApp> {
  let internal: InternalListener | undefined;
  let app: NestFastifyApplication | undefined;
  try {
    const adapter = new FastifyAdapter({
      logger: false,
      bodyLimit: config.bodyLimitBytes,
      // Only the configured load balancers may name the client address (X-Forwarded-For); otherwise the peer is it.
      trustProxy: config.trustedProxies.length ? [...config.trustedProxies] : false,
      // Reject requests whose URL is absurdly long before routing.
      routerOptions: { maxParamLength: 512 },
      return503OnClosing: true,
      // Errors Fastify raises before routing (over-long path parameters, malformed URLs) and errors Node's HTTP
      // parser raises (oversized headers, timeouts) get the same {"error": {code, message}} body as everything else.
      frameworkErrors: adapterFrameworkErrors,
      clientErrorHandler: clientError,
    });
    app = await NestFactory.create<NestFastifyApplication>(
      ApiModule.forRoot(config, { logger: options.logger, destination: options.logDestination }),
      adapter,
      { logger: false, abortOnError: false },
    );
    // The container's singletons the raw-Fastify parts need, resolved once (the DEK hot path never asks Nest).
    const services = apiHandles(app);
    const log = services.log;
    app.useGlobalFilters(new ErrorFilter(log));
    app.useGlobalInterceptors(new TracingInterceptor());
    const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
    // This app's token state for the passport strategies, read through each request's server (see http/auth.ts).
    const authContext: AuthContext = app.get(AppAuthContext);
    fastify.decorate('keyholdAuth', authContext);
    // The console's catch-all routes are registered first so they stay out of the API route list.
    await serveConsole(fastify, config.consoleDir);
    const routes: Array<{ method: string; url: string }> = [];
    fastify.addHook('onRoute', (r) => {
      // the operators' queue dashboard is bull-board's UI, not part of the documented API; nor is the bench route
      if (r.url.startsWith('/admin/queues') || r.url.startsWith(DEV_MAILBOX_PATH) || r.url === BENCH_CEILING_PATH)
        return;
      for (const m of [r.method].flat()) if (m !== 'HEAD' && m !== 'OPTIONS') routes.push({ method: m, url: r.url });
    });

    // Errors raised by Fastify itself (body parsing, limits, content type) reach Nest's Fastify error handler,
    // which hands them to ErrorFilter: one mapping for everything (asserted by test/e2e/http-edge.test.ts).
    fastify.addHook('onSend', (_req, reply, payload, done) => {
      reply.header('x-content-type-options', 'nosniff');
      done(null, payload);
    });
    const httpCounts = services.metrics.http;
    fastify.addHook('onResponse', (req, reply, done) => {
      httpCounts.record(req.method, req.routeOptions?.url ?? 'unmatched', reply.statusCode);
      done();
    });

    registerReadiness(fastify, services);
    if (services.devMailbox) registerDevMailbox(fastify, services.devMailbox);
    await registerQueueDashboard(fastify, services);
    const doc = openApiDocument();
    fastify.get('/openapi.json', async (_req, reply) => reply.header('cache-control', 'no-cache').send(doc));

    await app.init();
    const benchCeiling = options.benchCeilingRoute ?? process.env.KEYHOLD_BENCH_CEILING_ROUTE === '1';
    internal = await createInternalListener(config, services, {
      listen: options.listen !== false,
      clientError,
      extraRoutes: benchCeiling ? registerBenchCeiling : undefined,
      onRoute: (method, url) => {
        if (url !== BENCH_CEILING_PATH) routes.push({ method, url });
      },
    });
    let url = '';
    if (options.listen !== false) {
      await app.listen(config.port, config.host);
      const addr = fastify.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    }
    let closed = false;
    const listener = internal;
    const nest = app;
    return {
      app,
      url,
      internalUrl: listener.url,
      internal: listener.fastify,
      services,
      routes,
      async close() {
        if (closed) return;
        closed = true;
        // Both listeners stop taking requests first; then the container stops its modules (producers, then the
        // audit flush, then the stores: see the lifecycle hooks of each module).
        await Promise.all([fastify.close(), listener.close()]);
        await nest.close();
      },
    };
  } catch (err) {
    await internal?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    throw err;
  }
}

/** GET /readyz on the public listener too: the load balancer's health check (the internal listener has its own). */
function registerReadiness(fastify: FastifyInstance, s: Pick<ApiHandles, 'ds' | 'redis'>): void {
  fastify.get('/readyz', async (_req, reply) => {
    const [postgres, redis] = await Promise.all([
      s.ds.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      s.redis.ping().then(
        (p) => p === 'PONG',
        () => false,
      ),
    ]);
    return reply
      .status(postgres && redis ? 200 : 503)
      .send({ status: postgres && redis ? 'ready' : 'not_ready', postgres, redis });
  });
}

/** Node's HTTP parser rejected the request (header overflow, timeout, garbage): answer in the API's error shape. */
function clientError(err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'the request took too long to arrive']
        : [400, 'BAD_REQUEST', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
