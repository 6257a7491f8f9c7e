import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AccessClaims } from '@app/auth';
import type { KeyholdConfig } from '@app/config';
import { DomainError, ErrorCode } from '@app/keys';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { ApiHandles } from '../handles';
import { registerDekRoutes, registerOpsRoutes } from './dek-routes';
import { toErrorReply } from './errors';
import { sendFrameworkError } from './framework-errors';
import { registerEventRoutes } from './event-routes';
import { registerInternalSegmentRoutes } from './internal-segment-routes';
import { parseBody, schemas } from './validation';

/**
 * The internal listener: everything a service principal calls (the DEK API under /internal/v1, its key-event
 * stream, segment destruction, and the token endpoint for the client_credentials grant) plus /metrics, on a
 * port of its own that deployments keep off the public load balancer. Raw Fastify sharing the API's services:
 * no Nest machinery on the DEK hot path. The public listener answers 404 for all of it.
 *
 * With KEYHOLD_INTERNAL_TLS_CERT/_KEY it speaks HTTPS; with _CA as well it requires a client certificate that
 * chains to that CA (refused in the handshake otherwise), and a service principal bound to one certificate
 * (its SHA-256 fingerprint, set by the key admin) is refused 401 CLIENT_CERTIFICATE_MISMATCH over any other.
 */
export interface InternalListener {
  fastify: FastifyInstance;
  /** http(s)://host:port once listening; '' when built without listening. */
  url: string;
  close(): Promise<void>;
}

export interface InternalListenerOptions {
  listen: boolean;
  /** Extra routes on this listener before it starts (the bench ceiling: same instance and hooks as the DEK route). */
  extraRoutes?: (fastify: FastifyInstance) => void;
  /** Told about every route registered (the API's route list for the OpenAPI coverage check). */
  onRoute?: (method: string, url: string) => void;
  clientError: (err: NodeJS.ErrnoException, socket: Socket) => void;
}

const JSON_TYPE = 'application/json; charset=utf-8';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The claims of this request's `Authorization` header as the internal listener's onRequest hook verified them
     * (and admitted its certificate binding); null when it had none or it did not verify. Saves the DEK route a
     * second lookup of the whole header (measured on the hot path); the route still runs every other check.
     */
    keyholdClaims: AccessClaims | null;
  }
}

export async function createInternalListener(
  config: KeyholdConfig,
  s: ApiHandles,
  opts: InternalListenerOptions,
): Promise<InternalListener> {
  const tls = config.internal.tls;
  const fastify = Fastify({
    logger: false,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustedProxies.length ? [...config.trustedProxies] : false,
    routerOptions: { maxParamLength: 512 },
    return503OnClosing: true,
    ...(tls
      ? {
          https: {
            cert: tls.cert,
            key: tls.key,
            // Mutual TLS: no CA-signed client certificate, no connection (nothing reaches a route).
            ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
            minVersion: 'TLSv1.2' as const,
          },
        }
      : {}),
    frameworkErrors: (err, _req, reply) => {
      const r: FastifyReply = reply;
      sendFrameworkError(err.code, r);
    },
    clientErrorHandler: opts.clientError,
  }) as unknown as FastifyInstance;

  const sendError = (reply: FastifyReply, err: unknown) => {
    const r = toErrorReply(err);
    if (r.internal)
      s.log.error(
        { err: { name: (err as Error)?.name, message: String((err as Error)?.message).slice(0, 300) } },
        'internal request failed',
      );
    if (r.headers) for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
    return reply.status(r.status).header('cache-control', 'no-store').header('content-type', JSON_TYPE).send(r.body);
  };
  fastify.setErrorHandler((err, _req, reply) => sendError(reply, err));
  fastify.setNotFoundHandler((_req, reply) =>
    reply
      .status(404)
      .header('cache-control', 'no-store')
      .send({ error: { code: 'NOT_FOUND', message: 'not found' } }),
  );
  if (opts.onRoute) {
    const tell = opts.onRoute;
    fastify.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD' && m !== 'OPTIONS') tell(m, r.url);
    });
  }
  // The same hooks as the public listener had for these routes (and the bench ceiling sees them too).
  fastify.addHook('onSend', (_req, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    done(null, payload);
  });
  const httpCounts = s.metrics.http;
  fastify.addHook('onResponse', (req, reply, done) => {
    httpCounts.record(req.method, req.routeOptions?.url ?? 'unmatched', reply.statusCode);
    done();
  });
  addCertificateBinding(fastify, s, sendError);

  registerDekRoutes(fastify, s);
  registerEventRoutes(fastify, s);
  registerInternalSegmentRoutes(fastify, s);
  registerServiceTokenRoute(fastify, s);
  opts.extraRoutes?.(fastify);
  // /readyz (for probes of this port) and /metrics: scraped on the internal network only, never public.
  registerOpsRoutes(fastify, s);

  await fastify.ready();
  let url = '';
  if (opts.listen) {
    await fastify.listen({ port: config.internal.port, host: config.internal.host });
    const addr = fastify.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.internal.port;
    const host = config.internal.host.includes(':') ? `[${config.internal.host}]` : config.internal.host;
    url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  }
  return { fastify, url, close: () => fastify.close() };
}

/** Client certificate fingerprints, once per TLS connection (a keep-alive connection serves many requests). */
const fingerprints = new WeakMap<object, string | undefined>();

/** SHA-256 fingerprint (lowercase hex) of the connection's verified client certificate; undefined when none. */
export function clientCertificateSha256(socket: Socket): string | undefined {
  const t = socket as Partial<TLSSocket>;
  if (typeof t.getPeerCertificate !== 'function') return undefined;
  if (fingerprints.has(socket)) return fingerprints.get(socket);
  // Only a certificate the handshake verified against the CA counts (with requestCert but no CA, none is asked).
  const cert = t.authorized ? t.getPeerCertificate() : undefined;
  const fp =
    cert && typeof cert.fingerprint256 === 'string' && cert.fingerprint256
      ? cert.fingerprint256.replace(/:/g, '').toLowerCase()
      : undefined;
  fingerprints.set(socket, fp);
  return fp;
}

/**
 * A bound principal's token is refused on a connection without its certificate. Runs before every route; a
 * request whose token does not verify passes through untouched (the route answers 401 for it as always), so the
 * cost on the warm path is the header cache lookup and one Map read in the principal gate.
 */
function addCertificateBinding(
  fastify: FastifyInstance,
  s: Pick<ApiHandles, 'serviceTokens' | 'principalGate'>,
  sendError: (reply: FastifyReply, err: unknown) => unknown,
): void {
  const tokens = s.serviceTokens;
  const gate = s.principalGate;
  fastify.decorateRequest('keyholdClaims', null);
  fastify.addHook('onRequest', (req, reply, done) => {
    const header = req.headers.authorization;
    if (header === undefined) return done();
    const check = (claims: AccessClaims) => {
      let admitted: true | Promise<void>;
      try {
        admitted = gate.admitCertificate(claims, clientCertificateSha256(req.raw.socket));
      } catch (err) {
        if ((err as { code?: string })?.code === 'CLIENT_CERTIFICATE_MISMATCH') {
          sendError(reply, err);
          return;
        }
        return done();
      }
      if (admitted === true) {
        req.keyholdClaims = claims;
        return done();
      }
      admitted.then(
        () => {
          req.keyholdClaims = claims;
          done();
        },
        (err: unknown) => {
          if ((err as { code?: string })?.code === 'CLIENT_CERTIFICATE_MISMATCH') sendError(reply, err);
          // the principal could not be read: the route's own admission says what is wrong
          else done();
        },
      );
    };
    const cached = tokens.cachedHeaderOn(req.raw.socket, header);
    if (cached !== undefined) return check(cached);
    // a token not seen before: verified once here (the route then finds it cached); an invalid one passes through
    // untouched and the route answers 401 for it
    tokens.verifyHeader(header).then(check, () => done());
  });
}

/**
 * POST /v1/auth/token on the internal listener: the client_credentials grant only, so a service needs nothing
 * but this listener. Admins sign in on the public listener; their password grant is refused here.
 */
function registerServiceTokenRoute(fastify: FastifyInstance, s: Pick<ApiHandles, 'tokens'>): void {
  fastify.post('/v1/auth/token', async (req, reply) => {
    const grant = parseBody(schemas.token, req.body);
    if (grant.grant_type !== 'client_credentials')
      throw new DomainError(
        ErrorCode.ValidationFailed,
        'grant_type: only client_credentials is accepted on the internal listener',
      );
    const issued = await s.tokens.issue(grant, req.ip);
    return reply.header('cache-control', 'no-store').send(issued);
  });
}
