import type { AccessClaims } from '@app/auth';
import { accessTicket, DomainError, encodeDekBody, ErrorCode, reasonSlot } from '@app/keys';
import { isUuid } from '@app/persistence';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiHandles } from '../handles';
import { toErrorReply } from './errors';

const JSON_TYPE = 'application/json; charset=utf-8';
/** Request headers of key access justifications (Node lower-cases header names). */
const REASON_HEADER = 'keyhold-access-reason';
const TICKET_HEADER = 'keyhold-access-ticket';

/**
 * The internal DEK API, registered directly on Fastify: no Nest guard/pipe/interceptor machinery on the hot
 * path (measured: routing the DEK request through them cost about 3× the CPU per request). A warm single-DEK request is answered synchronously: cached
 * token verification by exact header, cached workspace state + scope (checked on every request), cached wrapped
 * DEK row, then the encoded DEK cached under its KEK (KekCache) copied into the response — integer metrics, no
 * promise, no SQL, no unwrap, no per-request logging. Anything not cached takes the general async path
 * (`getDeks`), which has the same checks and errors.
 */
export function registerDekRoutes(
  fastify: FastifyInstance,
  s: Pick<ApiHandles, 'metrics' | 'serviceTokens' | 'deks' | 'principalGate' | 'log'>,
): void {
  const counts = s.metrics.dek;
  const tokens = s.serviceTokens;
  const deks = s.deks;
  const gate = s.principalGate;

  const fail = (reply: FastifyReply, err: unknown) => {
    const r = toErrorReply(err);
    counts.fail(r.body.error.code.toLowerCase());
    if (r.internal)
      s.log.error(
        { err: { name: (err as Error)?.name, message: String((err as Error)?.message).slice(0, 300) } },
        'DEK request failed',
      );
    if (r.headers) for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
    return reply.status(r.status).header('cache-control', 'no-store').send(r.body);
  };

  const slowSingle = async (
    reply: FastifyReply,
    claims: AccessClaims,
    workspaceId: string,
    segmentId: string,
    reason: number,
    ticket: string | undefined,
  ) => {
    try {
      const [d] = await deks.getDeks(claims, workspaceId, [segmentId], reason, ticket);
      counts.ok++;
      counts.issued++;
      return reply
        .header('cache-control', 'no-store')
        .header('content-type', JSON_TYPE)
        .send(encodeDekBody(d.dek, d.dekId, d.kekVersion));
    } catch (err) {
      return fail(reply, err);
    }
  };

  fastify.get<{ Params: { workspaceId: string; segmentId: string } }>(
    '/internal/v1/workspaces/:workspaceId/segments/:segmentId/dek',
    // Deliberately not async: the warm path sends before returning; only a miss creates a promise.
    (req, reply) => {
      // verified (and its certificate binding admitted) by the listener's onRequest hook for this very request
      const claims = req.keyholdClaims ?? tokens.cachedHeader(req.headers.authorization);
      // A token not seen before is verified once (asynchronously), then served like a warm one.
      if (claims === undefined)
        return tokens.verifyHeader(req.headers.authorization).then(
          (verified) => serveSingle(req, reply, verified),
          (err: unknown) => fail(reply, err),
        );
      return serveSingle(req, reply, claims);
    },
  );

  function serveSingle(
    req: FastifyRequest<{ Params: { workspaceId: string; segmentId: string } }>,
    reply: FastifyReply,
    claims: AccessClaims,
  ) {
    try {
      const { workspaceId, segmentId } = req.params;
      // Key access justification (libs/keys access-reasons.ts): a slot number and, rarely, a ticket reference.
      // Read before admission starts: a rejected admission promise must always have its handler attached.
      const reason = reasonSlot(req.headers[REASON_HEADER]);
      const ticket = accessTicket(req.headers[TICKET_HEADER], reason);
      const admitted = gate.admit(claims, req.ip);
      if (admitted !== true)
        return admitted.then(
          () => slowSingle(reply, claims, workspaceId, segmentId, reason, ticket),
          (err: unknown) => fail(reply, err),
        );
      const body = deks.getWarmBody(claims, workspaceId, segmentId, reason, ticket);
      if (body === undefined) return slowSingle(reply, claims, workspaceId, segmentId, reason, ticket);
      counts.ok++;
      counts.issued++;
      return reply.header('cache-control', 'no-store').header('content-type', JSON_TYPE).send(body);
    } catch (err) {
      return fail(reply, err);
    }
  }

  fastify.post<{ Params: { workspaceId: string }; Body: unknown }>(
    // '::' is Fastify's escape for a literal ':' in a path
    '/internal/v1/workspaces/:workspaceId/deks::batchGet',
    // Body parsing fails before the handler runs (bad JSON, wrong content type, too large, __proto__ members):
    // those errors take the same {"error": {code, message}} path as everything else.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- returns the reply it sent (a thenable), as Fastify expects
    { errorHandler: (err, _req, reply) => fail(reply, err) },
    async (req, reply) => {
      try {
        const claims = await tokens.verifyHeader(req.headers.authorization);
        await gate.admit(claims, req.ip);
        const reason = reasonSlot(req.headers[REASON_HEADER]);
        const ticket = accessTicket(req.headers[TICKET_HEADER], reason);
        const body = req.body as { segmentIds?: unknown } | null;
        const ids = body && typeof body === 'object' && !Array.isArray(body) ? body.segmentIds : undefined;
        if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== 'string'))
          throw new DomainError(ErrorCode.ValidationFailed, 'segmentIds must be a non-empty array of strings');
        if (!isUuid(req.params.workspaceId)) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
        const deks = await s.deks.getDeks(claims, req.params.workspaceId, ids as string[], reason, ticket);
        counts.ok++;
        counts.issued += deks.length;
        return reply.header('cache-control', 'no-store').send({ deks });
      } catch (err) {
        return fail(reply, err);
      }
    },
  );
}

/** Operations endpoints that need no Nest machinery either. */
export function registerOpsRoutes(fastify: FastifyInstance, s: Pick<ApiHandles, 'ds' | 'redis' | 'metrics'>): void {
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
    return reply
      .status(postgres && redis ? 200 : 503)
      .send({ status: postgres && redis ? 'ready' : 'not_ready', postgres, redis });
  });

  fastify.get('/metrics', async (_req, reply) => {
    const body = await s.metrics.registry.metrics();
    return reply.header('content-type', s.metrics.registry.contentType).send(body);
  });
}
