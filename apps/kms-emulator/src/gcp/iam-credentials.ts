import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { EmulatorContext } from '../core/cloud';
import { sleep } from '../core/faults';
import type { TokenRegistry } from './iam';
import type { GcpState } from './state';

export interface IamCredentialsConfig {
  /** Project whose service accounts the vendor may impersonate (e.g. keyhold-vendor). */
  vendorProject: string;
  /** The member (serviceAccount:…) allowed to impersonate them. */
  vendorMember: string;
  maxLifetimeSeconds: number;
}

const PATH = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/;
const MAX_BODY = 64 * 1024;

/**
 * The emulated IAM Service Account Credentials API (REST over https), just `generateAccessToken`, which is
 * what google-auth-library's `Impersonated` client calls. It is a separate node:https server because the
 * grpc-js server cannot answer plain REST on its port.
 * Wire shape: POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken, body {scope[], lifetime:"3600s",
 * delegates?}, answer {accessToken, expireTime (RFC 3339)}; errors {error:{code, message, status}}.
 */
export class IamCredentialsServer {
  private server: Server | null = null;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly state: GcpState,
    private readonly tokens: TokenRegistry,
    private readonly config: IamCredentialsConfig,
  ) {}

  async start(host: string, port: number): Promise<{ url: string; port: number }> {
    const server = createServer({ key: this.ctx.tls.key, cert: this.ctx.tls.cert }, (req, res) => {
      void this.handle(req, res).catch(() => {
        if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error');
      });
    });
    server.on('secureConnection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const actual = (server.address() as AddressInfo).port;
    return { url: `https://${host}:${actual}`, port: actual };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    // Hung requests keep sockets open: destroy them so close() never waits on a client.
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://iamcredentials');
    const m = PATH.exec(url.pathname);
    if (req.method !== 'POST' || !m) {
      return sendError(res, 404, 'NOT_FOUND', `no such method ${req.method} ${url.pathname}`);
    }
    const email = decodeURIComponent(m[1]);
    const body = await readJson(req);

    const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    const who = auth ? this.tokens.resolve(auth[1]) : null;
    const principal = typeof who === 'string' && who !== 'expired' ? who : undefined;
    const op = 'generateAccessToken';
    const decision = this.ctx.faults.decide({ cloud: 'gcp', operation: op, keyId: email, principal });
    await sleep(decision.delayMs);
    const done = (outcome: string) => this.ctx.counters.record('gcp', op, principal, outcome);

    if (decision.fault === 'hang') {
      done('hang');
      return; // never answer: the client's own timeout ends it (close() destroys the socket)
    }
    if (decision.fault === 'reset') {
      done('reset');
      req.socket.destroy();
      return;
    }
    if (decision.fault === 'throttle') {
      done('RESOURCE_EXHAUSTED');
      return sendError(res, 429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for quota metric generateAccessToken.');
    }
    if (decision.fault === 'error') {
      done('UNAVAILABLE');
      return sendError(res, 503, 'UNAVAILABLE', 'The service is currently unavailable.');
    }

    if (!auth || who === null) {
      done('UNAUTHENTICATED');
      return sendError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    }
    if (who === 'expired') {
      done('UNAUTHENTICATED');
      return sendError(
        res,
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials: the access token expired.',
      );
    }
    if (body === undefined) {
      done('INVALID_ARGUMENT');
      return sendError(res, 400, 'INVALID_ARGUMENT', 'Request body must be a JSON object.');
    }
    const inVendorProject = email.endsWith(`@${this.config.vendorProject}.iam.gserviceaccount.com`);
    if (who !== this.config.vendorMember || !inVendorProject) {
      done('PERMISSION_DENIED');
      return sendError(
        res,
        403,
        'PERMISSION_DENIED',
        `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`,
      );
    }
    if (this.state.strictServiceAccounts) {
      // Real IAM: an account that does not exist is NOT_FOUND; one whose policy gives the caller no
      // roles/iam.serviceAccountTokenCreator is PERMISSION_DENIED.
      const creators = this.state.serviceAccounts.get(email);
      if (!creators) {
        done('NOT_FOUND');
        return sendError(res, 404, 'NOT_FOUND', `Not found; Gaia id not found for email ${email}`);
      }
      if (!creators.has(who)) {
        done('PERMISSION_DENIED');
        return sendError(
          res,
          403,
          'PERMISSION_DENIED',
          `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`,
        );
      }
    }
    if (this.state.disabledServiceAccounts.has(email)) {
      done('FAILED_PRECONDITION');
      return sendError(res, 400, 'FAILED_PRECONDITION', `Service account ${email} is disabled.`);
    }
    const lifetime = parseLifetime(body.lifetime, this.config.maxLifetimeSeconds);
    if (lifetime === null) {
      done('INVALID_ARGUMENT');
      return sendError(
        res,
        400,
        'INVALID_ARGUMENT',
        `lifetime must be "<seconds>s" between 1 and ${this.config.maxLifetimeSeconds}.`,
      );
    }
    const issued = this.tokens.issue(`serviceAccount:${email}`, lifetime);
    done('ok');
    send(res, 200, { accessToken: issued.token, expireTime: new Date(issued.expiresAt).toISOString() });
  }
}

function parseLifetime(raw: unknown, max: number): number | null {
  if (raw === undefined) return 3600 > max ? max : 3600;
  if (typeof raw !== 'string') return null;
  const m = /^(\d+)(?:\.\d+)?s$/.exec(raw);
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 1 && n <= max ? n : null;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, code: number, status: string, message: string): void {
  send(res, code, { error: { code, message, status } });
}
