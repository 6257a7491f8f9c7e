import type { FastifyInstance } from 'fastify';
import type { ApiHandles } from '../handles';

/**
 * Segment-level crypto-shred for internal services, on the internal listener: a service principal token with the
 * `dek:destroy` permission (granted by the key admin) and the workspace in its scope. Same path as the DEK fetch,
 * method DELETE; the key admin's route is on the public listener (SegmentAdminController). Errors reach the
 * listener's error handler (one mapping for everything).
 */
export function registerInternalSegmentRoutes(
  fastify: FastifyInstance,
  s: Pick<ApiHandles, 'serviceTokens' | 'principalGate' | 'destroySegment'>,
): void {
  fastify.delete<{ Params: { workspaceId: string; segmentId: string } }>(
    '/internal/v1/workspaces/:workspaceId/segments/:segmentId/dek',
    async (req, reply) => {
      const claims = await s.serviceTokens.verifyHeader(req.headers.authorization);
      // a disabled, deleted or rotated-away credential, or an address off the allow-list, destroys nothing
      await s.principalGate.admit(claims, req.ip);
      await s.destroySegment.execute({
        by: { kind: 'service', id: claims.sub },
        tenantId: claims.tid,
        workspaceId: req.params.workspaceId,
        segmentId: req.params.segmentId,
      });
      return reply.status(204).header('cache-control', 'no-store').send();
    },
  );
}
