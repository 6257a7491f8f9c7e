/**
 * Preloaded (`node --require`) into API child processes of a benchmark run, never into production. It gives the
 * harness three things over IPC without touching the API's code:
 *  - `gc`: force full garbage collection (the child runs with --expose-gc) and answer process.memoryUsage(), so RSS
 *    deltas are not GC noise;
 *  - `profile-start` / `profile-stop`: a V8 CPU profile of the hot path written to a .cpuprofile file (the same
 *    format `node --cpu-prof` writes, but bounded to the load window instead of the whole process life);
 *  - when BENCH_INJECT_CEILING=1: a fixed 80-byte JSON route on every Fastify instance the process creates, i.e. the
 *    same app, hooks and HTTP stack as the DEK route but no auth and no key lookup. It is only a fallback for when
 *    the API has no ceiling route of its own (KEYHOLD_BENCH_CEILING_ROUTE=1).
 * If the parent goes away the child exits, so an aborted run leaves no orphan servers.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

export const INJECTED_CEILING_PATH = '/__bench/injected-ceiling';
/** Exactly 80 bytes: the ceiling's body is the size of a typical small JSON answer. */
export const CEILING_BODY = JSON.stringify({ ok: true, service: 'keyhold', pad: 'x'.repeat(40) });

type Command =
  | { type: 'gc'; id: number }
  | { type: 'profile-start'; id: number }
  | { type: 'profile-stop'; id: number; file: string };

let session: Session | null = null;

function post<T>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.type) {
    case 'gc': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('the API child must run with --expose-gc');
      gc();
      await new Promise((r) => setImmediate(r));
      gc();
      return process.memoryUsage();
    }
    case 'profile-start':
      session = new Session();
      session.connect();
      await post('Profiler.enable');
      // 100 µs sampling: fine enough for a ~50 µs request without drowning the server in profiler work
      await post('Profiler.setSamplingInterval', { interval: 100 });
      await post('Profiler.start');
      return { started: true };
    case 'profile-stop': {
      if (!session) throw new Error('no profile running');
      const { profile } = await post<{ profile: unknown }>('Profiler.stop');
      session.disconnect();
      session = null;
      writeFileSync(cmd.file, JSON.stringify(profile));
      return { file: cmd.file };
    }
  }
}

function installCeilingRoute(): void {
  // @nestjs/platform-fastify may carry its own copy of fastify: patch the copy it resolves and the top-level one.
  const copies = new Set<string>([require.resolve('fastify')]);
  try {
    copies.add(require.resolve('fastify', { paths: [require.resolve('@nestjs/platform-fastify')] }));
  } catch {
    /* Nest's fastify adapter not installed: only the top-level copy */
  }
  for (const file of copies) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- patches the very module object each fastify copy exports
    const mod = require(file) as { fastify: (...a: unknown[]) => FastifyLike; default: unknown };
    const original = mod.fastify;
    const wrapped = Object.assign(function benchFastify(...args: unknown[]): FastifyLike {
      const app = original(...args);
      app.get(INJECTED_CEILING_PATH, (_req: unknown, reply: ReplyLike) => {
        reply.header('content-type', 'application/json; charset=utf-8').send(CEILING_BODY);
      });
      return app;
    }, original);
    mod.fastify = wrapped;
    mod.default = wrapped;
  }
}

interface ReplyLike {
  header(name: string, value: string): ReplyLike;
  send(body: string): void;
}
interface FastifyLike {
  get(path: string, handler: (req: unknown, reply: ReplyLike) => void): void;
}

if (process.env.BENCH_INJECT_CEILING === '1') installCeilingRoute();

if (process.send) {
  process.on('message', (raw: unknown) => {
    const cmd = raw as Command;
    if (
      !cmd ||
      typeof cmd !== 'object' ||
      typeof cmd.id !== 'number' ||
      !String(cmd.type).match(/^(gc|profile-start|profile-stop)$/)
    )
      return;
    handle(cmd).then(
      (result) => process.send?.({ type: 'bench-reply', id: cmd.id, ok: true, result }),
      (err: unknown) =>
        process.send?.({ type: 'bench-reply', id: cmd.id, ok: false, error: String((err as Error)?.message ?? err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
