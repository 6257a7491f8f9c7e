import { AuthError, bearerToken } from '@app/auth';
import { DomainError, ErrorCode } from '@app/keys';
import { isUuid } from '@app/persistence';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyholdServices } from '../services';
import { toErrorReply } from './errors';

/**
 * The internal DEK API, registered directly on Fastify: no Nest guard/pipe/interceptor machinery on the hot
 * path (shared/PERFORMANCE.md: that costs ~3×). Cached token verification, cached workspace state + scope,
 * cached wrapped DEK rows, one AES-GCM unwrap, no per-request logging.
 */
export function registerDekRoutes(fastify: FastifyInstance, s: KeyholdServices): void {
  const outcome = s.metrics.dekRequests;
  const issued = s.metrics.deksIssued;

  const fail = (reply: FastifyReply, err: unknown) => {
    const r = toErrorReply(err);
    outcome.inc({ outcome: r.body.error.code.toLowerCase() });
    if (r.internal) s.log.error({ err: { name: (err as Error)?.name, message: String((err as Error)?.message).slice(0, 300) } }, 'DEK request failed');
    if (r.headers) for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
    return reply.status(r.status).header('cache-control', 'no-store').send(r.body);
  };

  const principal = (req: FastifyRequest) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new AuthError('UNAUTHENTICATED', 'a Bearer access token is required');
    return s.serviceTokens.verify(token);
  };

  const workspace = (id: string) => {
    if (!isUuid(id)) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    return id.toLowerCase();
  };

  fastify.get<{ Params: { workspaceId: string; segmentId: string } }>(
    '/internal/v1/workspaces/:workspaceId/segments/:segmentId/dek',
    async (req, reply) => {
      try {
        const claims = principal(req);
        const [d] = await s.deks.getDeks(claims, workspace(req.params.workspaceId), [req.params.segmentId]);
        outcome.inc({ outcome: 'ok' });
        issued.inc();
        return reply.header('cache-control', 'no-store').send({ dek: d.dek, dekId: d.dekId, kekVersion: d.kekVersion });
      } catch (err) {
        return fail(reply, err);
      }
    },
  );

  fastify.post<{ Params: { workspaceId: string }; Body: unknown }>(
    // '::' is Fastify's escape for a literal ':' in a path
    '/internal/v1/workspaces/:workspaceId/deks::batchGet',
    async (req, reply) => {
      try {
        const claims = principal(req);
        const body = req.body as { segmentIds?: unknown } | null;
        const ids = body && typeof body === 'object' && !Array.isArray(body) ? body.segmentIds : undefined;
        if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== 'string'))
          throw new DomainError(ErrorCode.ValidationFailed, 'segmentIds must be a non-empty array of strings');
        const deks = await s.deks.getDeks(claims, workspace(req.params.workspaceId), ids as string[]);
        outcome.inc({ outcome: 'ok' });
        issued.inc(deks.length);
        return reply.header('cache-control', 'no-store').send({ deks });
      } catch (err) {
        return fail(reply, err);
      }
    },
  );
}

/** Operations endpoints that need no Nest machinery either. */
export function registerOpsRoutes(fastify: FastifyInstance, s: KeyholdServices): void {
  fastify.get('/readyz', async (_req, reply) => {
    const checks = await Promise.all([
      s.ds.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      s.redis.ping().then(
        (p) => p === 'PONG',
        () => false,
      ),
    ]);
    const [postgres, redis] = checks;
    return reply.status(postgres && redis ? 200 : 503).send({ status: postgres && redis ? 'ready' : 'not_ready', postgres, redis });
  });

  fastify.get('/metrics', async (_req, reply) => {
    const body = await s.metrics.registry.metrics();
    return reply.header('content-type', s.metrics.registry.contentType).send(body);
  });
}
