import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { AdminRequest, AdminResponse, CloudEmulator, EmulatorContext } from '../core/cloud';
import { sleep } from '../core/faults';
import { AwsKeyPropagation } from '../common/propagation';
import {
  completeDeletion,
  expireImportedMaterial,
  handleKms,
  isKmsOperation,
  KmsError,
  KMS_MUTATIONS,
  peekKeyArn,
  keyMetadata,
  settle,
} from './kms';
import {
  IAM_ACTIONS,
  IAM_NS,
  QueryError,
  queryError,
  queryResponse,
  QUERY_MUTATIONS,
  STS_ACTIONS,
  STS_NS,
} from './query';
import { checkSkew, parseAuthorization, verifySignature } from './sigv4';
import { AccessKey, AwsState, callerAccount, callerArn, Principal } from './state';
import { parsePolicy } from './policy';

/**
 * A local AWS on one HTTP port: KMS (JSON 1.1, `x-amz-target: TrentService.<Op>`), STS and IAM (query
 * protocol; told apart by the SigV4 credential scope's service). Every request is SigV4-verified against the
 * emulator's own principals, then authorized by real key/trust/identity/session policy evaluation.
 */

export interface AwsEmulatorOptions {
  /** Default region (used by admin routes; clients pick their region through the SigV4 scope). */
  region: string;
  /** The customer account whose root is access key `test` / secret `test` (as in LocalStack). */
  customerAccountId: string;
  vendorAccountId: string;
  vendorUserName: string;
  vendorAccessKeyId: string;
  vendorSecretAccessKey: string;
}

export const AWS_EMULATOR_DEFAULTS: Readonly<AwsEmulatorOptions> = Object.freeze({
  region: 'us-east-1',
  customerAccountId: '000000000000',
  vendorAccountId: '111122223333',
  vendorUserName: 'keyhold-vendor',
  vendorAccessKeyId: 'AKIAKEYHOLDVENDOR000',
  vendorSecretAccessKey: 'keyhold-vendor-local-secret',
});

/** The customer root credentials (LocalStack convention). */
export const AWS_CUSTOMER_ROOT_CREDENTIALS = Object.freeze({ accessKeyId: 'test', secretAccessKey: 'test' });

const MAX_BODY = 1 << 20;

function bootAccessKeys(o: AwsEmulatorOptions): AccessKey[] {
  return [
    {
      accessKeyId: AWS_CUSTOMER_ROOT_CREDENTIALS.accessKeyId,
      secretAccessKey: AWS_CUSTOMER_ROOT_CREDENTIALS.secretAccessKey,
      arn: `arn:aws:iam::${o.customerAccountId}:root`,
      accountId: o.customerAccountId,
      userId: o.customerAccountId,
      isRoot: true,
    },
    {
      accessKeyId: o.vendorAccessKeyId,
      secretAccessKey: o.vendorSecretAccessKey,
      arn: `arn:aws:iam::${o.vendorAccountId}:user/${o.vendorUserName}`,
      accountId: o.vendorAccountId,
      userId: 'AIDAKEYHOLDVENDOR0001',
      isRoot: false,
    },
  ];
}

function emptyState(o: AwsEmulatorOptions): AwsState {
  return { keys: [], aliases: [], roles: [], accessKeys: bootAccessKeys(o), sessions: [] };
}

type Protocol = 'kms' | 'sts' | 'iam';

interface AuthFailure {
  /** Which class of auth failure, mapped to each protocol's own error code. */
  kind: 'missing' | 'unknown' | 'signature' | 'token' | 'expired' | 'skew';
  message: string;
}

const KMS_AUTH_ERRORS: Record<AuthFailure['kind'], string> = {
  missing: 'MissingAuthenticationTokenException',
  unknown: 'UnrecognizedClientException',
  token: 'UnrecognizedClientException',
  signature: 'InvalidSignatureException',
  expired: 'ExpiredTokenException',
  skew: 'InvalidSignatureException',
};
const QUERY_AUTH_ERRORS: Record<AuthFailure['kind'], [string, number]> = {
  missing: ['MissingAuthenticationToken', 403],
  unknown: ['InvalidClientTokenId', 403],
  token: ['InvalidClientTokenId', 403],
  signature: ['SignatureDoesNotMatch', 403],
  expired: ['ExpiredToken', 400],
  skew: ['SignatureDoesNotMatch', 403],
};

class AwsEmulator implements CloudEmulator {
  readonly cloud = 'aws' as const;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private state: AwsState;
  private readonly keyPropagation: AwsKeyPropagation;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly opts: AwsEmulatorOptions,
  ) {
    this.state = emptyState(opts);
    this.keyPropagation = new AwsKeyPropagation(ctx.propagation);
  }

  async start(host: string, port: number): Promise<{ url: string; port: number }> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent)
          sendJson(res, 500, { __type: 'KMSInternalException', message: 'internal emulator error' });
      });
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const actual = (server.address() as AddressInfo).port;
    return { url: `http://${host}:${actual}`, port: actual };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    // Hung requests hold their sockets open on purpose: destroy them so close() cannot wait forever.
    for (const s of this.sockets) s.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  resetState(): void {
    this.state = emptyState(this.opts);
  }

  exportState(): unknown {
    return JSON.parse(JSON.stringify(this.state));
  }

  importState(saved: unknown): void {
    const s = saved as Partial<AwsState> | null;
    if (!s || typeof s !== 'object' || !Array.isArray(s.keys) || !Array.isArray(s.roles))
      throw new Error('aws emulator state must be an object with keys and roles arrays');
    const boot = bootAccessKeys(this.opts);
    const extra = (s.accessKeys ?? []).filter((k) => !boot.some((b) => b.accessKeyId === k.accessKeyId));
    this.state = {
      keys: s.keys,
      aliases: s.aliases ?? [],
      roles: s.roles,
      accessKeys: [...boot, ...extra],
      sessions: s.sessions ?? [],
      principalPolicies: s.principalPolicies ?? {},
      scps: s.scps ?? {},
      grants: s.grants ?? [],
      deletedKeys: s.deletedKeys ?? [],
    };
  }

  async admin(req: AdminRequest): Promise<AdminResponse | null> {
    if (req.method === 'GET' && req.path === '/keys')
      return { status: 200, body: { keys: this.state.keys.map((k) => keyMetadata(k)) } };
    if (req.method === 'GET' && req.path === '/aliases') return { status: 200, body: { aliases: this.state.aliases } };
    if (req.method === 'GET' && req.path === '/roles')
      return {
        status: 200,
        body: {
          roles: this.state.roles.map((r) => ({
            arn: r.arn,
            trustPolicy: r.trustPolicy,
            inlinePolicies: r.inlinePolicies,
          })),
        },
      };
    if (req.method === 'GET' && req.path === '/principals')
      return {
        status: 200,
        body: {
          principals: this.state.accessKeys.map((k) => ({
            accessKeyId: k.accessKeyId,
            arn: k.arn,
            accountId: k.accountId,
          })),
        },
      };
    if (req.method === 'POST' && req.path === '/access-keys') {
      // Root credentials for another customer account (cross-account scenarios). Secrets are test values.
      const b = (req.body ?? {}) as { accountId?: unknown; accessKeyId?: unknown; secretAccessKey?: unknown };
      if (typeof b.accountId !== 'string' || !/^\d{12}$/.test(b.accountId))
        return { status: 400, body: { error: 'accountId must be a 12-digit AWS account id' } };
      if (typeof b.accessKeyId !== 'string' || !/^AKIA[A-Z0-9]{12,124}$/.test(b.accessKeyId))
        return {
          status: 400,
          body: { error: 'accessKeyId must look like AKIA followed by upper-case letters or digits' },
        };
      if (typeof b.secretAccessKey !== 'string' || b.secretAccessKey.length < 8)
        return { status: 400, body: { error: 'secretAccessKey must be a string of at least 8 characters' } };
      if (this.state.accessKeys.some((k) => k.accessKeyId === b.accessKeyId))
        return { status: 409, body: { error: 'accessKeyId already exists' } };
      const key: AccessKey = {
        accessKeyId: b.accessKeyId,
        secretAccessKey: b.secretAccessKey,
        arn: `arn:aws:iam::${b.accountId}:root`,
        accountId: b.accountId,
        userId: b.accountId,
        isRoot: true,
      };
      this.state.accessKeys.push(key);
      return { status: 201, body: { accessKeyId: key.accessKeyId, arn: key.arn } };
    }
    return this.keyAdmin(req) ?? this.vendorAdmin(req);
  }

  /**
   * Time-driven key transitions on demand (docs/EMULATORS.md "AWS"), so tests need not wait 7 days or a ValidTo:
   *  POST /keys/{keyArn|keyId}/complete-deletion        a PendingDeletion key reaches the end of its waiting period
   *  POST /keys/{keyArn|keyId}/expire-key-material      imported key material reaches its ValidTo
   * A key id alone names the key in the default region (multi-Region keys share their id: use the ARN).
   */
  private keyAdmin(req: AdminRequest): AdminResponse | null {
    const m = /^\/keys\/([^/]+)\/(complete-deletion|expire-key-material)$/.exec(req.path);
    if (!m || req.method !== 'POST') return null;
    const id = decodeURIComponent(m[1]);
    const key =
      this.state.keys.find((k) => k.arn === id) ??
      this.state.keys.find((k) => k.keyId === id && k.region === this.opts.region);
    if (!key) return { status: 404, body: { error: 'no such key' } };
    if (m[2] === 'complete-deletion') {
      if (key.state !== 'PendingDeletion')
        return { status: 409, body: { error: `key is ${key.state}, not PendingDeletion` } };
      completeDeletion(this.state, key);
    } else {
      if (key.origin !== 'EXTERNAL' || key.backing.length === 0)
        return { status: 409, body: { error: 'key has no imported key material' } };
      expireImportedMaterial(key);
    }
    this.ctx.persist();
    return { status: 200, body: { keyArn: key.arn, keyState: m[2] === 'complete-deletion' ? 'Deleted' : key.state } };
  }

  /**
   * The vendor's own side of AWS (docs/EMULATORS.md "Vendor identity"), off until used:
   *  PUT    /principals/{accessKeyId}/status          {status: Active|Inactive|Expired}
   *  PUT    /principals/{accessKeyId}/policies/{name} {policy}   identity policy on that key's user/root
   *  DELETE /principals/{accessKeyId}/policies/{name}
   *  PUT    /accounts/{accountId}/scps/{name}          {policy}   service control policy on every principal
   *  DELETE /accounts/{accountId}/scps/{name}
   */
  private vendorAdmin(req: AdminRequest): AdminResponse | null {
    const body = (req.body ?? {}) as { status?: unknown; policy?: unknown };
    const policyText = (): string | AdminResponse => {
      const text =
        typeof body.policy === 'string'
          ? body.policy
          : body.policy && typeof body.policy === 'object'
            ? JSON.stringify(body.policy)
            : undefined;
      if (text === undefined)
        return { status: 400, body: { error: 'policy must be a JSON policy document (object or string)' } };
      try {
        parsePolicy(text, { requirePrincipal: false });
      } catch (err) {
        return { status: 400, body: { error: `malformed policy: ${(err as Error).message}` } };
      }
      return text;
    };
    const named = (m: RegExpExecArray, i: number): string | null => (/^[\w+=,.@-]{1,128}$/.test(m[i]) ? m[i] : null);

    let m = /^\/principals\/([^/]+)\/status$/.exec(req.path);
    if (m && req.method === 'PUT') {
      const key = this.state.accessKeys.find((k) => k.accessKeyId === m![1]);
      if (!key) return { status: 404, body: { error: 'no such access key' } };
      if (body.status !== 'Active' && body.status !== 'Inactive' && body.status !== 'Expired')
        return { status: 400, body: { error: 'status must be Active, Inactive or Expired' } };
      key.status = body.status;
      this.ctx.persist();
      return { status: 200, body: { accessKeyId: key.accessKeyId, status: key.status } };
    }
    m = /^\/principals\/([^/]+)\/policies\/([^/]+)$/.exec(req.path);
    if (m && (req.method === 'PUT' || req.method === 'DELETE')) {
      const key = this.state.accessKeys.find((k) => k.accessKeyId === m![1]);
      const name = named(m, 2);
      if (!key) return { status: 404, body: { error: 'no such access key' } };
      if (!name) return { status: 400, body: { error: 'policy name must be 1-128 characters of [A-Za-z0-9+=,.@_-]' } };
      const all = (this.state.principalPolicies ??= {});
      if (req.method === 'DELETE') {
        if (!all[key.arn]?.[name]) return { status: 404, body: { error: 'no such policy' } };
        delete all[key.arn][name];
      } else {
        const text = policyText();
        if (typeof text !== 'string') return text;
        (all[key.arn] ??= {})[name] = text;
      }
      this.ctx.persist();
      return { status: req.method === 'PUT' ? 200 : 204 };
    }
    m = /^\/accounts\/(\d{12})\/scps\/([^/]+)$/.exec(req.path);
    if (m && (req.method === 'PUT' || req.method === 'DELETE')) {
      const account = m[1];
      const name = named(m, 2);
      if (!name) return { status: 400, body: { error: 'policy name must be 1-128 characters of [A-Za-z0-9+=,.@_-]' } };
      const all = (this.state.scps ??= {});
      if (req.method === 'DELETE') {
        if (!all[account]?.[name]) return { status: 404, body: { error: 'no such policy' } };
        delete all[account][name];
      } else {
        const text = policyText();
        if (typeof text !== 'string') return text;
        (all[account] ??= {})[name] = text;
      }
      this.ctx.persist();
      return { status: req.method === 'PUT' ? 200 : 204 };
    }
    return null;
  }

  // ------------------------------------------------------------------ request path

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === null) return sendJson(res, 413, { __type: 'ValidationException', message: 'Request body too large' });
    const target = header(req, 'x-amz-target');
    const parsedAuth = parseAuthorization(header(req, 'authorization'));
    const scopeService = parsedAuth.ok ? parsedAuth.auth.service : undefined;
    const region = parsedAuth.ok ? parsedAuth.auth.region : this.opts.region;

    let protocol: Protocol;
    let op: string;
    let params: URLSearchParams | undefined;
    let json: Record<string, unknown> = {};
    if (target !== undefined) {
      protocol = 'kms';
      op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target;
      try {
        const parsed: unknown = body.length ? JSON.parse(body.toString('utf8')) : {};
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
        json = parsed as Record<string, unknown>;
      } catch {
        return this.finish(res, 'kms', op, undefined, {
          kmsError: new KmsError('SerializationException', 'Request body is not a JSON object'),
        });
      }
    } else {
      params = new URLSearchParams(body.toString('utf8'));
      protocol = scopeService === 'iam' ? 'iam' : 'sts';
      op = params.get('Action') ?? 'Unknown';
    }

    const auth = this.authenticate(req, body, parsedAuth, protocol);
    const principal = 'principal' in auth ? auth.principal : undefined;
    const principalArn = principal ? callerArn(principal) : undefined;
    const keyArn =
      protocol === 'kms'
        ? peekKeyArn(this.state, json, principal ? callerAccount(principal) : undefined, region)
        : undefined;

    const decision = this.ctx.faults.decide({
      cloud: 'aws',
      operation: op,
      keyId: keyArn,
      principal: principalArn,
      region,
    });
    await sleep(decision.delayMs);
    switch (decision.fault) {
      case 'hang':
        // Never answer; the socket stays open until the client gives up or close() destroys it.
        this.ctx.counters.record('aws', op, principalArn, 'fault:hang');
        return;
      case 'reset':
        this.ctx.counters.record('aws', op, principalArn, 'fault:reset');
        req.socket.destroy();
        return;
      case 'throttle':
        this.ctx.counters.record('aws', op, principalArn, 'fault:throttle');
        if (protocol === 'kms') return sendJson(res, 400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
        return sendXml(res, 400, queryError(ns(protocol), new QueryError('Throttling', 'Rate exceeded', 400)));
      case 'error':
        this.ctx.counters.record('aws', op, principalArn, 'fault:error');
        if (protocol === 'kms')
          return sendJson(res, 500, { __type: 'KMSInternalException', message: 'An internal error occurred.' });
        return sendXml(
          res,
          500,
          queryError(ns(protocol), new QueryError('ServiceUnavailable', 'Service is unavailable.', 500)),
        );
      default:
        break;
    }

    if ('failure' in auth) {
      const f = auth.failure;
      if (protocol === 'kms')
        return this.finish(res, protocol, op, principalArn, {
          kmsError: new KmsError(KMS_AUTH_ERRORS[f.kind], f.message),
        });
      const [code, status] = QUERY_AUTH_ERRORS[f.kind];
      return this.finish(res, protocol, op, principalArn, { queryError: new QueryError(code, f.message, status) });
    }
    const p = auth.principal;
    const now = Date.now();

    if (protocol === 'kms') {
      if (scopeService !== 'kms')
        return this.finish(res, protocol, op, principalArn, {
          kmsError: new KmsError('InvalidSignatureException', `Credential should be scoped to correct service: 'kms'.`),
        });
      if (!isKmsOperation(op))
        return this.finish(res, protocol, op, principalArn, {
          kmsError: new KmsError('UnknownOperationException', `Operation ${op} is not supported`),
        });
      try {
        const settled = settle(this.state, now);
        // Propagation (off unless switched on): mutations are recorded, other calls may still see the old key facts.
        const mutation = KMS_MUTATIONS.has(op);
        const before = mutation ? this.keyPropagation.before(this.state) : null;
        const out = handleKms(op, {
          state: mutation ? this.state : this.keyPropagation.view(this.state),
          principal: p,
          region,
          body: json,
          now,
          sourceIp: req.socket.remoteAddress,
        });
        this.keyPropagation.after(before, this.state);
        if (settled || mutation) this.ctx.persist();
        return this.finish(res, protocol, op, principalArn, { json: out });
      } catch (err) {
        if (err instanceof KmsError) return this.finish(res, protocol, op, principalArn, { kmsError: err });
        throw err;
      }
    }

    const table = protocol === 'iam' ? IAM_ACTIONS : STS_ACTIONS;
    const handler = Object.prototype.hasOwnProperty.call(table, op) ? table[op] : undefined;
    if (!handler)
      return this.finish(res, protocol, op, principalArn, {
        queryError: new QueryError(
          'InvalidAction',
          `Could not find operation ${op} for version ${params?.get('Version') ?? ''}`,
          400,
        ),
      });
    try {
      const out = handler({ state: this.state, principal: p, params: params!, now });
      if (QUERY_MUTATIONS.has(op)) this.ctx.persist();
      return this.finish(res, protocol, op, principalArn, { xml: queryResponse(ns(protocol), op, out) });
    } catch (err) {
      if (err instanceof QueryError) return this.finish(res, protocol, op, principalArn, { queryError: err });
      throw err;
    }
  }

  private finish(
    res: ServerResponse,
    protocol: Protocol,
    op: string,
    principalArn: string | undefined,
    out: { json?: unknown; xml?: string; kmsError?: KmsError; queryError?: QueryError },
  ): void {
    if (out.kmsError) {
      this.ctx.counters.record('aws', op, principalArn, out.kmsError.type);
      return sendJson(res, out.kmsError.status, { __type: out.kmsError.type, message: out.kmsError.message });
    }
    if (out.queryError) {
      this.ctx.counters.record('aws', op, principalArn, out.queryError.code);
      return sendXml(res, out.queryError.status, queryError(ns(protocol), out.queryError));
    }
    this.ctx.counters.record('aws', op, principalArn, 'ok');
    if (out.xml !== undefined) return sendXml(res, 200, out.xml);
    return sendJson(res, 200, out.json ?? {});
  }

  /** SigV4 verification against the emulator's principals and live role sessions. */
  private authenticate(
    req: IncomingMessage,
    body: Buffer,
    parsed: ReturnType<typeof parseAuthorization>,
    protocol: Protocol,
  ): { principal: Principal } | { failure: AuthFailure } {
    if (!parsed.ok) {
      const kind = header(req, 'authorization') ? 'signature' : 'missing';
      return { failure: { kind, message: parsed.reason } };
    }
    const auth = parsed.auth;
    if (protocol !== 'kms' && auth.service !== protocol)
      return {
        failure: { kind: 'signature', message: `Credential should be scoped to a valid service: '${protocol}'.` },
      };
    const now = Date.now();
    const token = header(req, 'x-amz-security-token');
    let principal: Principal;
    let secret: string;
    const staticKey = this.state.accessKeys.find((k) => k.accessKeyId === auth.accessKeyId);
    if (staticKey) {
      // IAM UpdateAccessKey Inactive: AWS answers as for an unknown key id; expired credentials: ExpiredToken.
      if (staticKey.status === 'Inactive')
        return { failure: { kind: 'unknown', message: 'The security token included in the request is invalid.' } };
      if (staticKey.status === 'Expired')
        return { failure: { kind: 'expired', message: 'The security token included in the request is expired' } };
      principal = { kind: 'key', key: staticKey };
      secret = staticKey.secretAccessKey;
    } else {
      const session = this.state.sessions.find((s) => s.accessKeyId === auth.accessKeyId);
      if (!session)
        return { failure: { kind: 'unknown', message: 'The security token included in the request is invalid.' } };
      if (!token || !constantEquals(token, session.sessionToken))
        return { failure: { kind: 'token', message: 'The security token included in the request is invalid.' } };
      principal = { kind: 'session', session };
      secret = session.secretAccessKey;
    }
    const skew = checkSkew(header(req, 'x-amz-date'), now);
    if (skew) return { failure: { kind: 'skew', message: skew } };
    const bad = verifySignature(
      { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
      auth,
      secret,
    );
    if (bad) return { failure: { kind: 'signature', message: bad } };
    if (principal.kind === 'session' && principal.session.expiresAt <= now)
      return { failure: { kind: 'expired', message: 'The security token included in the request is expired' } };
    return { principal };
  }
}

function ns(p: Protocol): string {
  return p === 'iam' ? IAM_NS : STS_NS;
}

function constantEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return null;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': crypto.randomUUID(),
    })
    .end(text);
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res
    .writeHead(status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(xml),
      'x-amzn-requestid': crypto.randomUUID(),
    })
    .end(xml);
}

export function createAwsEmulator(ctx: EmulatorContext, opts: Partial<AwsEmulatorOptions>): CloudEmulator {
  const merged: AwsEmulatorOptions = { ...AWS_EMULATOR_DEFAULTS, ...opts };
  for (const f of ['customerAccountId', 'vendorAccountId'] as const)
    if (!/^\d{12}$/.test(merged[f])) throw new Error(`aws emulator option ${f} must be a 12-digit account id`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(merged.region))
    throw new Error('aws emulator option region must look like us-east-1');
  return new AwsEmulator(ctx, merged);
}
