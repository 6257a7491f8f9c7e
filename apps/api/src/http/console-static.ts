import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Paths that belong to the API: they keep JSON 404s and never fall back to the console's index.html. */
const API_PREFIX = /^\/(v1|internal|admin|dev|healthz|readyz|metrics|openapi\.json)(\/|$|\?)/;

/** Marks console routes so the API's route list (the OpenAPI coverage check) leaves them out. */
export const CONSOLE_ROUTE = 'keyholdConsole';

/**
 * The console's security headers. The console is the only HTML Keyhold serves and it carries destructive actions
 * (destroy a workspace, re-key, revoke a credential), so it may not be framed by anyone (clickjacking), it runs only
 * its own bundled scripts (no inline script, no eval), and it talks only to its own origin. React writes styles
 * through the CSSOM, which `style-src 'self'` does not restrict, so no 'unsafe-inline' is needed.
 */
const CONSOLE_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' as const },
  referrerPolicy: { policy: 'no-referrer' as const },
  crossOriginEmbedderPolicy: false,
  hsts: false, // served over TLS by the operator's load balancer, which owns HSTS for the whole host
};

/**
 * Serves the built console (apps/console/dist) at / with an SPA fallback: index.html for non-API GETs that accept
 * HTML, JSON 404 for everything else. @fastify/static with `wildcard: false` registers one route per file found at
 * start-up, so a request path never reaches the filesystem (no traversal to get wrong). Helmet and the static routes
 * live in their own encapsulated context: the DEK hot path and the JSON API do not run the console's hooks.
 */
export async function serveConsole(fastify: FastifyInstance, dir: string): Promise<void> {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) return;
  await fastify.register(async (scope) => {
    await scope.register(helmet, CONSOLE_HELMET);
    await scope.register(fastifyStatic, {
      root,
      wildcard: false,
      index: ['index.html'],
      decorateReply: true,
      cacheControl: true,
      immutable: false,
      // Vite names assets by content hash; index.html must always be revalidated so a new build is picked up.
      setHeaders: (reply, path) => {
        reply.header('cache-control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
      },
    });
    const fallback = (req: FastifyRequest, reply: FastifyReply) => {
      const path = req.url.split('?')[0];
      if (!API_PREFIX.test(path) && String(req.headers.accept ?? '').includes('text/html'))
        return reply.sendFile('index.html');
      return reply
        .status(404)
        .header('content-type', 'application/json; charset=utf-8')
        .send({ error: { code: 'NOT_FOUND', message: 'not found' } });
    };
    scope.get('/*', { config: { [CONSOLE_ROUTE]: true } }, fallback);
  });
}
