import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEmulator } from './cloud';
import type { CallCounters } from './counters';
import type { Cloud, FaultEngine } from './faults';
import type { Propagation } from './propagation';
import { z } from 'zod';

/** A fault rule's shape as posted; the engine then checks its values (ranges, latency needs latencyMs). */
const faultRuleInput = z.object(
  {
    cloud: z.enum(['aws', 'azure', 'gcp'], { message: 'cloud must be aws, azure or gcp' }).optional(),
    operation: z.string().optional(),
    keyId: z.string().optional(),
    principal: z.string().optional(),
    kind: z.enum(['latency', 'throttle', 'error', 'hang', 'reset'], {
      message: 'kind must be one of latency, throttle, error, hang, reset',
    }),
    rate: z.number({ message: 'rate must be a number in [0, 1]' }).optional(),
    latencyMs: z.number({ message: 'latencyMs must be a non-negative number' }).optional(),
    jitterMs: z.number({ message: 'jitterMs must be a non-negative number' }).optional(),
    count: z.number({ message: 'count must be a non-negative number' }).optional(),
  },
  { message: 'fault rule must be an object' },
);

/** A propagation setting as posted; Propagation.configure checks the ranges. */
const propagationInput = z
  .object({
    delayMs: z.number({ message: 'delayMs must be a non-negative number' }).optional(),
    flapMs: z.number({ message: 'flapMs must be a non-negative number' }).optional(),
    newRate: z.number({ message: 'newRate must be a number in [0, 1]' }).optional(),
    seed: z.number({ message: 'seed must be a non-negative number' }).optional(),
  })
  .nullish();

/** Parses a posted body, or throws with the first problem's message (answered 400). */
function parsed<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new Error(r.error.issues[0]?.message ?? 'invalid body');
  return r.data;
}

const MAX_BODY = 1 << 20;

/**
 * The emulator admin API (documented in README): faults, latency, counters, reset, and per-cloud routes
 * (principals, grants) under /{cloud}/... It binds to loopback only.
 */
export class AdminServer {
  private server?: Server;

  constructor(
    private readonly faults: FaultEngine,
    private readonly counters: CallCounters,
    private readonly clouds: CloudEmulator[],
    private readonly onStateChange: () => void,
    private readonly propagation?: Propagation,
  ) {}

  async start(host: string, port: number): Promise<{ url: string; port: number }> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => send(res, 500, { error: String((err as Error)?.message ?? err) }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const actual = (this.server.address() as AddressInfo).port;
    return { url: `http://${host}:${actual}`, port: actual };
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const body = await readJson(req);
    if (body === INVALID) return send(res, 400, { error: 'body must be JSON' });
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';

    if (method === 'GET' && path === '/health') return send(res, 200, { ok: true });
    if (method === 'GET' && path === '/counters') {
      const q = Object.fromEntries(url.searchParams);
      return send(res, 200, { calls: this.counters.list(q), total: this.counters.total(q) });
    }
    if (method === 'POST' && path === '/counters/reset') {
      this.counters.reset();
      return send(res, 204);
    }
    if (method === 'GET' && path === '/faults') return send(res, 200, { faults: this.faults.list() });
    if (method === 'POST' && path === '/faults') {
      try {
        return send(res, 201, this.faults.add(parsed(faultRuleInput, body)));
      } catch (err) {
        return send(res, 400, { error: (err as Error).message });
      }
    }
    if (method === 'DELETE' && path === '/faults') {
      this.faults.clear();
      return send(res, 204);
    }
    const faultId = /^\/faults\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && faultId) {
      return this.faults.remove(faultId[1]) ? send(res, 204) : send(res, 404, { error: 'no such fault' });
    }
    if (method === 'GET' && path === '/propagation')
      return send(res, 200, { propagation: this.propagation?.list() ?? [] });
    const propagationRoute = /^\/propagation\/(aws|azure|gcp)$/.exec(path);
    if (propagationRoute && this.propagation && (method === 'PUT' || method === 'DELETE')) {
      try {
        const settings = this.propagation.configure(
          propagationRoute[1] as Cloud,
          method === 'DELETE' ? null : (parsed(propagationInput, body) ?? {}),
        );
        return settings ? send(res, 200, { cloud: propagationRoute[1], ...settings }) : send(res, 204);
      } catch (err) {
        return send(res, 400, { error: (err as Error).message });
      }
    }
    if (method === 'POST' && path === '/reset') {
      // ?state=false keeps keys and principals; default resets everything
      this.faults.clear();
      this.propagation?.clear();
      this.counters.reset();
      if (url.searchParams.get('state') !== 'false') {
        for (const c of this.clouds) c.resetState();
        this.onStateChange();
      }
      return send(res, 204);
    }
    const cloudRoute = /^\/(aws|azure|gcp)(\/.*)?$/.exec(path);
    if (cloudRoute) {
      const cloud = this.clouds.find((c) => c.cloud === cloudRoute[1]);
      const answer = await cloud?.admin?.({ method, path: cloudRoute[2] ?? '/', query: url.searchParams, body });
      if (answer) {
        if (method !== 'GET') this.onStateChange();
        return send(res, answer.status, answer.body);
      }
    }
    return send(res, 404, { error: `no admin route ${method} ${path}` });
  }
}

const INVALID = Symbol('invalid');

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return INVALID;
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return INVALID;
  }
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}
