import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface QueueDashboardOptions {
  readonly queues: readonly Queue[];
  /** Where to mount, e.g. '/admin/queues'. */
  readonly basePath: string;
  /** Operator authorization, e.g. a constant-time compare of the operator bearer token. Checked on every request. */
  readonly authorize: (req: FastifyRequest) => boolean | Promise<boolean>;
  /** Show the dashboard read-only (no retry/clean/remove buttons); default true. */
  readonly readOnly?: boolean;
}

/**
 * Mounts the bull-board queue dashboard for platform operators. Job payloads carry ids only (never key material),
 * so showing them is safe; still, everything under basePath is behind `authorize`, and the board is read-only
 * by default because retrying a job by hand bypasses the operation row that owns it.
 */
export async function mountQueueDashboard(fastify: FastifyInstance, options: QueueDashboardOptions): Promise<void> {
  const basePath = normaliseBasePath(options.basePath);
  // Loaded on first use: bull-board pulls in @fastify/static and view engines that processes without a dashboard
  // (the worker, most tests) have no reason to load.
  const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const adapter = new FastifyAdapter();
  adapter.setBasePath(basePath);
  createBullBoard({
    queues: options.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: options.readOnly ?? true })),
    // @bull-board/fastify ships its own nested copy of @bull-board/api typings; the adapter is structurally the
    // same interface at run time, the two declaration copies just do not unify for the compiler.
    serverAdapter: adapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Keyhold queues' } },
  });
  // An encapsulated scope: the auth hook and bull-board's static/view plugins stay inside it.
  await fastify.register(async (scope) => {
    scope.addHook('onRequest', async (req, reply) => {
      let ok = false;
      try {
        ok = await options.authorize(req);
      } catch {
        ok = false;
      }
      if (!ok) {
        await reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: { code: 'UNAUTHORIZED', message: 'operator authentication required' } });
      }
    });
    await scope.register(adapter.registerPlugin(), { prefix: basePath });
  });
}

function normaliseBasePath(path: string): string {
  if (!/^\/[A-Za-z0-9/_-]*$/.test(path))
    throw new Error(`queue dashboard basePath must be an absolute path, got ${JSON.stringify(path)}`);
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
