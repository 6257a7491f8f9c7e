import type { FastifyInstance } from 'fastify';
import { bearerToken } from '@app/auth';
import { matchOperatorToken } from '@app/config';
import { mountQueueDashboard, QueueName } from '@app/jobs';
import type { ApiHandles } from '../handles';

/**
 * The operators' queue dashboard (bull-board, read-only) at /admin/queues, behind the platform operator token
 * (any valid one). Tenants' tokens never open it: it shows every tenant's operation ids.
 */
export async function registerQueueDashboard(
  fastify: FastifyInstance,
  services: Pick<ApiHandles, 'dispatcher' | 'config'>,
): Promise<void> {
  const queues = Object.values(QueueName).map((name) => services.dispatcher.queue(name));
  await mountQueueDashboard(fastify, {
    queues,
    basePath: '/admin/queues',
    readOnly: true,
    authorize: (req) =>
      matchOperatorToken(bearerToken(req.headers.authorization), services.config.operatorTokens) !== null,
  });
}
