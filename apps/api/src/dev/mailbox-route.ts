import type { DevMailbox } from '@app/auth';
import type { FastifyInstance } from 'fastify';

export const DEV_MAILBOX_PATH = '/dev/mailbox';

/**
 * Non-production only (never registered in production mode): what the dev mail sender delivered, newest last,
 * optionally for one recipient (`?to=`). It stands in for people's inboxes on a developer machine and in tests;
 * it is not part of the documented API.
 */
export function registerDevMailbox(fastify: FastifyInstance, mailbox: DevMailbox): void {
  fastify.get(DEV_MAILBOX_PATH, (req, reply) => {
    const to = (req.query as Record<string, unknown>).to;
    const messages = mailbox.list(typeof to === 'string' ? to : undefined);
    return reply.header('cache-control', 'no-store').send({ messages });
  });
}
