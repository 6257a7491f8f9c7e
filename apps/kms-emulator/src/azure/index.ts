import { createServer, Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { AdminRequest, AdminResponse, CloudEmulator, EmulatorContext } from '../core/cloud';
import { sleep } from '../core/faults';
import { ADMIN_OPS, ALL_KEY_OPS, AzureState, isAzureState } from './state';
import { TokenIssuer } from './tokens';
import { Vault, VaultError } from './vault';

/**
 * A local Azure Key Vault (REST, challenge-based bearer auth) and a Microsoft Entra-style token endpoint on one
 * https port. The vault answers at `https://{vaultHost}:{port}` (default host `keyhold-emulator.vault.localhost`,
 * which clients map to this emulator's address by configuration) and names `https://vault.localhost` as the
 * challenge resource, so the SDK's challenge resource verification (vault host must be a subdomain of the
 * resource) passes without `disableChallengeResourceVerification`. The authority is this server's origin.
 *
 * Admin routes (under /azure on the emulator admin API):
 *   GET  /azure/endpoints                        vault URL, authority host, customer tenant
 *   GET  /azure/keys                             keys with versions (no private material)
 *   POST /azure/keys {name, keySize?, keyOps?}   create a key as the customer
 *   POST /azure/keys/{name}/rotate               new version
 *   POST /azure/keys/{name}/enabled {enabled, allVersions?}   enable/disable (all versions by default)
 *   DELETE /azure/keys/{name}                    soft-delete
 *   GET|POST|DELETE /azure/grants {tenantId, clientId, key, ops}   data-plane access (stands in for Azure RBAC)
 *   GET|POST /azure/principals {clientId, clientSecret, tenants, displayName}   app registrations
 *   PUT  /azure/principals/{clientId}/enabled {enabled, tenantId?}   sign-in enabled/disabled (AADSTS7000112)
 *   PATCH /azure/keys/{name} {exp?, nbf?, version?}   validity window (epoch seconds; null clears)
 *   POST /azure/deletedkeys/{name}/recover, DELETE /azure/deletedkeys/{name}   recover / purge
 *   PUT  /azure/permission-model {model: rbac|accessPolicy}, PUT /azure/firewall {enabled}
 */

export interface AzureEmulatorOptions {
  /** The customer's Entra tenant, owner of the emulated vault. */
  customerTenantId: string;
  /** The vendor's multi-tenant app (Keyhold's identity) with a service principal in the customer tenant. */
  vendorClientId: string;
  vendorClientSecret: string;
  /** A customer-side admin app with full rights on the vault (to set keys up through the SDK). */
  customerAdminClientId: string;
  customerAdminClientSecret: string;
  vaultHost: string;
  /** The challenge resource; the vault host must be a subdomain of its host. */
  resource: string;
  tokenLifetimeSeconds: number;
}

export const AZURE_EMULATOR_DEFAULTS: Readonly<AzureEmulatorOptions> = Object.freeze({
  customerTenantId: '7d3f0c5e-1b2a-4c3d-9e8f-0a1b2c3d4e5f',
  vendorClientId: 'b6d1e2f3-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  vendorClientSecret: 'keyhold-vendor-local-secret',
  customerAdminClientId: 'c3a1b2c3-0d0e-4f00-8a00-00000000ad01',
  customerAdminClientSecret: 'customer-admin-local-secret',
  vaultHost: 'keyhold-emulator.vault.localhost',
  resource: 'https://vault.localhost',
  tokenLifetimeSeconds: 3600,
});

const MAX_BODY = 1 << 20;
/**
 * Key Vault data-plane api-versions the emulator answers (the service's published versions; the SDK pins one per
 * release: @azure/keyvault-keys 4.10 sends 2025-07-01). Any other string is refused with 400 BadParameter, as the
 * service refuses a version it does not know.
 */
export const API_VERSIONS: ReadonlySet<string> = new Set([
  '2015-06-01',
  '2016-10-01',
  '7.0',
  '7.1',
  '7.2',
  '7.3',
  '7.4',
  '7.5',
  '7.6',
  '7.3-preview',
  '7.4-preview.1',
  '7.5-preview.1',
  '7.6-preview.1',
  '7.6-preview.2',
  '2025-07-01',
]);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class AzureEmulator implements CloudEmulator {
  readonly cloud = 'azure' as const;
  private readonly o: AzureEmulatorOptions;
  private server?: Server;
  private port = 0;
  private readonly sockets = new Set<Socket>();
  private state: AzureState;
  private readonly tokens: TokenIssuer;
  private readonly vault: Vault;

  constructor(
    private readonly ctx: EmulatorContext,
    opts: Partial<AzureEmulatorOptions>,
  ) {
    this.o = { ...AZURE_EMULATOR_DEFAULTS, ...opts };
    this.state = this.bootState();
    this.tokens = new TokenIssuer(this.o.tokenLifetimeSeconds);
    this.vault = new Vault(
      () => this.state,
      () => this.vaultUrl(),
      {
        changing: (subject, before) => ctx.propagation?.changing('azure', subject, before),
        view: (subject, current) => ctx.propagation?.view('azure', subject, current) ?? current,
      },
    );
  }

  /** `https://{vaultHost}:{port}`: the vault URL customers register (key URLs are `${vaultUrl}/keys/{name}`). */
  vaultUrl(): string {
    return `https://${this.o.vaultHost}:${this.port}`;
  }

  authorityHost(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get options(): Readonly<AzureEmulatorOptions> {
    return this.o;
  }

  async start(host: string, port: number): Promise<{ url: string; port: number }> {
    this.server = createServer({ key: this.ctx.tls.key, cert: this.ctx.tls.cert }, (req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, { error: { code: 'InternalServerError', message: 'emulator error' } });
      });
    });
    this.server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return { url: this.vaultUrl(), port: this.port };
  }

  async close(): Promise<void> {
    if (!this.server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  resetState(): void {
    this.state = this.bootState();
  }

  exportState(): unknown {
    return this.state;
  }

  importState(state: unknown): void {
    if (!isAzureState(state))
      throw new Error('azure emulator state must be an object with tenants, apps, keys and grants arrays');
    this.state = state;
  }

  private bootState(): AzureState {
    const o = this.o;
    return {
      tenants: [o.customerTenantId],
      apps: [
        {
          clientId: o.vendorClientId,
          clientSecret: o.vendorClientSecret,
          tenants: [o.customerTenantId],
          displayName: 'Keyhold (vendor)',
        },
        {
          clientId: o.customerAdminClientId,
          clientSecret: o.customerAdminClientSecret,
          tenants: [o.customerTenantId],
          displayName: 'Customer key admin',
        },
      ],
      keys: [],
      grants: [{ tenantId: o.customerTenantId, clientId: o.customerAdminClientId, key: '*', ops: [...ADMIN_OPS] }],
    };
  }

  // ------------------------------------------------------------------ request path

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (raw === null) return send(res, 413, { error: { code: 'BadParameter', message: 'Request body too large.' } });
    const url = new URL(req.url ?? '/', 'https://emulator');
    const segments = url.pathname
      .split('/')
      .filter((s, i, a) => s !== '' || i === a.length - 1)
      .map(decodeURIComponent);
    const method = req.method ?? 'GET';

    if (segments[0] !== 'keys' && segments[0] !== 'deletedkeys') return this.entra(req, res, method, segments, raw);
    // The SDK sends `?api%2Dversion=7.x`; URLSearchParams decodes the name, so both spellings land here.
    return this.keyVault(req, res, method, segments, raw, url.searchParams.get('api-version'));
  }

  /** Entra: OpenID configuration and the client-credentials token endpoint. */
  private async entra(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    seg: string[],
    raw: Buffer,
  ): Promise<void> {
    const origin = this.authorityHost();
    const tenant = seg[0] ?? '';
    if (method === 'GET' && seg[1] === 'v2.0' && seg[2] === '.well-known' && seg[3] === 'openid-configuration') {
      if (!this.state.tenants.includes(tenant))
        return send(res, 400, {
          error: 'invalid_tenant',
          error_description: `AADSTS90002: Tenant '${tenant}' not found.`,
          error_codes: [90002],
        });
      return send(res, 200, {
        token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
        device_authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/devicecode`,
        jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
        issuer: `${origin}/${tenant}/v2.0`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        tenant_region_scope: null,
        cloud_instance_name: 'microsoftonline.com',
      });
    }
    if (method === 'POST' && seg[1] === 'oauth2' && seg[2] === 'v2.0' && seg[3] === 'token') {
      const form = new URLSearchParams(raw.toString('utf8'));
      const clientId = form.get('client_id') ?? '';
      const principal = `${tenant}/${clientId}`;
      if (!(await this.faultGate(req, res, 'token', undefined, principal))) return;
      const fail = (status: number, error: string, description: string, code: number) => {
        this.ctx.counters.record('azure', 'token', principal, error);
        return send(res, status, {
          error,
          error_description: description,
          error_codes: [code],
          timestamp: new Date().toISOString(),
        });
      };
      if (form.get('grant_type') !== 'client_credentials')
        return fail(400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.', 70003);
      if (!this.state.tenants.includes(tenant))
        return fail(400, 'invalid_request', `AADSTS90002: Tenant '${tenant}' not found.`, 90002);
      const app = this.state.apps.find((a) => a.clientId === clientId);
      if (!app || !app.tenants.includes(tenant))
        return fail(
          400,
          'unauthorized_client',
          `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
          700016,
        );
      if (app.disabledIn?.includes(tenant))
        return fail(
          400,
          'unauthorized_client',
          `AADSTS7000112: Application '${clientId}'(${app.displayName}) is disabled.`,
          7000112,
        );
      if (!secretEquals(form.get('client_secret') ?? '', app.clientSecret))
        return fail(
          401,
          'invalid_client',
          `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
          7000215,
        );
      const scope = (form.get('scope') ?? '').split(' ')[0] ?? '';
      const aud = scope.replace(/\/\.default$/, '');
      const t = this.tokens.issue(tenant, clientId, aud);
      this.ctx.counters.record('azure', 'token', principal, 'ok');
      return send(res, 200, {
        token_type: 'Bearer',
        expires_in: t.expiresIn,
        ext_expires_in: t.expiresIn,
        access_token: t.token,
      });
    }
    return send(res, 404, { error: { code: 'NotFound', message: 'no such endpoint' } });
  }

  /** Key Vault keys REST surface with challenge auth and per-principal grants. */
  private async keyVault(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    seg: string[],
    raw: Buffer,
    apiVersion: string | null,
  ): Promise<void> {
    const route = this.route(method, seg);
    if (!route)
      return send(res, 405, {
        error: { code: 'BadParameter', message: `Method ${method} is not supported on ${seg.join('/')}.` },
      });
    const keyId = `${this.vaultUrl()}/keys/${route.name}`;

    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ')) {
      this.ctx.counters.record('azure', route.op, undefined, 'challenge');
      return this.challenge(res, undefined);
    }
    const verified = this.tokens.verify(auth.slice(7).trim());
    if (!verified.ok) {
      this.ctx.counters.record('azure', route.op, undefined, 'Unauthorized');
      return this.challenge(
        res,
        verified.reason === 'expired' ? 'The access token expired.' : 'The access token is invalid.',
      );
    }
    const { tid, appid, aud } = verified.claims;
    const principal = `${tid}/${appid}`;
    // Key Vault accepts only tokens issued for its own resource (the challenge's), with or without a trailing slash.
    if (aud.replace(/\/$/, '') !== this.o.resource.replace(/\/$/, '')) {
      this.ctx.counters.record('azure', route.op, principal, 'Unauthorized');
      return this.challenge(res, `AKV10022: Invalid audience. Expected ${this.o.resource}, found: ${aud}.`);
    }
    if (!(await this.faultGate(req, res, route.op, keyId, principal))) return;
    if (tid !== this.o.customerTenantId) {
      this.ctx.counters.record('azure', route.op, principal, 'Unauthorized');
      return this.challenge(res, `AKV10032: Invalid issuer. Expected one of the vault's tenant, found ${tid}.`);
    }
    if (!apiVersion || !API_VERSIONS.has(apiVersion)) {
      this.ctx.counters.record('azure', route.op, principal, 'BadParameter');
      return send(res, 400, {
        error: {
          code: 'BadParameter',
          message: apiVersion
            ? `The specified version (${apiVersion}) is not recognized. Consider using the latest supported version.`
            : 'The api-version query parameter is required.',
        },
      });
    }
    if (this.state.firewall?.enabled) {
      // Network rules are checked for every data-plane call of an authenticated caller (Key Vault names the caller).
      this.ctx.counters.record('azure', route.op, principal, 'ForbiddenByFirewall');
      return send(res, 403, {
        error: {
          code: 'Forbidden',
          message: `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${req.socket.remoteAddress ?? 'unknown'}\r\nCaller: appid=${appid};tid=${tid}\r\nVault: ${this.o.vaultHost.split('.')[0]};location=local`,
          innererror: { code: 'ForbiddenByFirewall' },
        },
      });
    }
    const needed = route.grant;
    // Role assignments and access policies take time to reach every front end: a read may see them as they were.
    const grants = this.ctx.propagation?.view('azure', 'grants', this.state.grants) ?? this.state.grants;
    const accessPolicies = this.state.permissionModel === 'accessPolicy';
    const granted = grants.some(
      // Access policies are vault-wide (they name no key); RBAC role assignments may be scoped to one key.
      (g) =>
        g.tenantId === tid &&
        g.clientId === appid &&
        (accessPolicies || g.key === '*' || g.key === route.name) &&
        g.ops.includes(needed),
    );
    if (!granted && accessPolicies) {
      this.ctx.counters.record('azure', route.op, principal, 'AccessDenied');
      return send(res, 403, {
        error: {
          code: 'Forbidden',
          message: `The user, group or application 'appid=${appid};iss=https://sts.windows.net/${tid}/' does not have keys ${needed} permission on key vault '${this.o.vaultHost.split('.')[0]};location=local'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
          innererror: { code: 'AccessDenied' },
        },
      });
    }
    if (!granted) {
      this.ctx.counters.record('azure', route.op, principal, 'ForbiddenByRbac');
      return send(res, 403, {
        error: {
          code: 'Forbidden',
          message: `Caller is not authorized to perform action on resource. If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=${appid};tid=${tid}\r\nAction: 'Microsoft.KeyVault/vaults/keys/${needed}/action'\r\nResource: '${route.name}'`,
          innererror: { code: 'ForbiddenByRbac' },
        },
      });
    }
    let body: Record<string, unknown> = {};
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        this.ctx.counters.record('azure', route.op, principal, 'BadParameter');
        return send(res, 400, { error: { code: 'BadParameter', message: 'The request body is not valid JSON.' } });
      }
    }
    try {
      const answer = route.run(body);
      this.ctx.counters.record('azure', route.op, principal, 'ok');
      if (route.mutates) this.ctx.persist();
      if (answer === null) {
        res.writeHead(route.status ?? 204).end();
        return;
      }
      return send(res, 200, answer);
    } catch (err) {
      if (!(err instanceof VaultError)) throw err;
      this.ctx.counters.record('azure', route.op, principal, err.innerCode ?? err.code);
      return send(res, err.status, {
        error: {
          code: err.code,
          message: err.message,
          ...(err.innerCode ? { innererror: { code: err.innerCode } } : {}),
        },
      });
    }
  }

  private route(
    method: string,
    seg: string[],
  ): {
    op: string;
    grant: string;
    name: string;
    mutates: boolean;
    status?: number;
    run: (b: Record<string, unknown>) => Record<string, unknown> | null;
  } | null {
    const [root, name, a, b] = seg;
    if (!name) return null;
    const v = this.vault;
    const version =
      a &&
      a !== '' &&
      a !== 'versions' &&
      a !== 'create' &&
      a !== 'rotate' &&
      a !== 'wrapkey' &&
      a !== 'unwrapkey' &&
      a !== 'encrypt' &&
      a !== 'decrypt'
        ? a
        : undefined;
    const action = version ? b : a;
    if (root === 'deletedkeys' && method === 'GET' && !a)
      return { op: 'getDeletedKey', grant: 'get', name, mutates: false, run: () => v.deleted(name) };
    if (root === 'deletedkeys' && method === 'POST' && a === 'recover')
      return { op: 'recoverDeletedKey', grant: 'recover', name, mutates: true, run: () => v.recover(name) };
    if (root === 'deletedkeys' && method === 'DELETE' && !a)
      return {
        op: 'purgeDeletedKey',
        grant: 'purge',
        name,
        mutates: true,
        status: 204,
        run: () => (v.purge(name), null),
      };
    if (root !== 'keys') return null;
    if (method === 'POST' && action === 'create')
      return { op: 'createKey', grant: 'create', name, mutates: true, run: (x) => v.create(name, x) };
    if (method === 'POST' && action === 'rotate')
      return { op: 'rotateKey', grant: 'rotate', name, mutates: true, run: () => v.rotate(name) };
    if (method === 'POST' && (action === 'wrapkey' || action === 'encrypt')) {
      const op = action === 'wrapkey' ? 'wrapKey' : 'encrypt';
      return { op, grant: op, name, mutates: false, run: (x) => v.wrap(name, version, op, x) };
    }
    if (method === 'POST' && (action === 'unwrapkey' || action === 'decrypt')) {
      const op = action === 'unwrapkey' ? 'unwrapKey' : 'decrypt';
      return { op, grant: op, name, mutates: false, run: (x) => v.unwrap(name, version, op, x) };
    }
    if (method === 'GET' && action === 'versions')
      return { op: 'listKeyVersions', grant: 'list', name, mutates: false, run: () => v.listVersions(name) };
    if (method === 'GET' && (action === undefined || action === '')) {
      return { op: 'getKey', grant: 'get', name, mutates: false, run: () => v.get(name, version) };
    }
    if (method === 'PATCH' && (action === undefined || action === ''))
      return { op: 'updateKey', grant: 'update', name, mutates: true, run: (x) => v.update(name, version, x) };
    if (method === 'DELETE' && (action === undefined || action === ''))
      return { op: 'deleteKey', grant: 'delete', name, mutates: true, run: () => v.delete(name) };
    return null;
  }

  private challenge(res: ServerResponse, problem: string | undefined): void {
    const header = `Bearer authorization="${this.authorityHost()}/${this.o.customerTenantId}", resource="${this.o.resource}"`;
    res.setHeader('WWW-Authenticate', problem ? `${header}, error="invalid_token"` : header);
    send(res, 401, {
      error: { code: 'Unauthorized', message: problem ?? 'AKV10000: Request is missing a Bearer or PoP token.' },
    });
  }

  /** Applies injected latency and faults; false when the request was answered (or swallowed) by a fault. */
  private async faultGate(
    req: IncomingMessage,
    res: ServerResponse,
    op: string,
    keyId: string | undefined,
    principal: string,
  ): Promise<boolean> {
    // The vault (host name without port) is the Azure "region" a fault may target: a paired vault answers while one is down.
    const region = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase() || undefined;
    const d = this.ctx.faults.decide({ cloud: 'azure', operation: op, keyId, principal, region });
    await sleep(d.delayMs);
    switch (d.fault) {
      case null:
        return true;
      case 'throttle':
        this.ctx.counters.record('azure', op, principal, 'fault:throttle');
        res.setHeader('Retry-After', '1');
        // Entra throttles the client-credentials grant with 429 + Retry-After and an OAuth 2.0 error body (real Entra
        // asks for 60 s; 1 s keeps tests quick).
        if (op === 'token') {
          send(res, 429, {
            error: 'temporarily_unavailable',
            error_description: 'Too many token requests for this application; retry after the Retry-After interval.',
            timestamp: new Date().toISOString(),
          });
          return false;
        }
        send(res, 429, {
          error: {
            code: 'Throttled',
            message:
              'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached',
          },
        });
        return false;
      case 'error':
        this.ctx.counters.record('azure', op, principal, 'fault:error');
        if (op === 'token') {
          send(res, 503, {
            error: 'temporarily_unavailable',
            error_description: 'The token service is temporarily unavailable.',
            timestamp: new Date().toISOString(),
          });
          return false;
        }
        send(res, 503, { error: { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable.' } });
        return false;
      case 'hang':
        this.ctx.counters.record('azure', op, principal, 'fault:hang');
        return false;
      case 'reset':
        this.ctx.counters.record('azure', op, principal, 'fault:reset');
        req.socket.destroy();
        return false;
    }
  }

  // ------------------------------------------------------------------ admin

  /** Admin routes (persistence after mutations is the AdminServer's job: it persists after every non-GET). */
  async admin(req: AdminRequest): Promise<AdminResponse | null> {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const p = req.path.split('/').filter(Boolean);
    if (req.method === 'GET' && req.path === '/endpoints')
      return {
        status: 200,
        body: {
          vaultUrl: this.vaultUrl(),
          authorityHost: this.authorityHost(),
          tenantId: this.o.customerTenantId,
          resource: this.o.resource,
        },
      };
    if (p[0] === 'keys') {
      if (req.method === 'GET' && p.length === 1)
        return {
          status: 200,
          body: {
            keys: this.state.keys.map((k) => ({
              name: k.name,
              deleted: k.deleted,
              versions: k.versions.map((v) => ({
                version: v.version,
                enabled: v.enabled,
                keyOps: v.keyOps,
                keySize: v.keySize,
                tags: v.tags ?? {},
              })),
            })),
          },
        };
      if (req.method === 'POST' && p.length === 1) {
        try {
          const bundle = this.vault.create(String(b.name ?? ''), {
            key_size: b.keySize ?? 2048,
            key_ops: b.keyOps ?? ALL_KEY_OPS,
          });
          return { status: 201, body: bundle };
        } catch (err) {
          return { status: 400, body: { error: (err as Error).message } };
        }
      }
      const key = this.state.keys.find((k) => k.name === p[1] && !k.deleted);
      if (!key) return { status: 404, body: { error: `no key ${p[1]}` } };
      if (req.method === 'POST' && p[2] === 'rotate') return { status: 201, body: this.vault.rotate(key.name) };
      if (req.method === 'POST' && p[2] === 'enabled') {
        if (typeof b.enabled !== 'boolean') return { status: 400, body: { error: 'enabled must be a boolean' } };
        const targets = b.allVersions === false ? [key.versions[key.versions.length - 1]] : key.versions;
        this.vault.changing(key);
        for (const v of targets) v.enabled = b.enabled;
        return { status: 200, body: { name: key.name, enabled: b.enabled, versions: targets.length } };
      }
      if (req.method === 'DELETE' && p.length === 2) {
        this.vault.delete(key.name);
        return { status: 204 };
      }
      if (req.method === 'PATCH' && p.length === 2) {
        // {exp?, nbf?} in epoch seconds (null clears), on every version unless {version}
        const targets =
          typeof b.version === 'string' ? key.versions.filter((v) => v.version === b.version) : key.versions;
        try {
          for (const v of targets) this.vault.update(key.name, v.version, { attributes: { exp: b.exp, nbf: b.nbf } });
        } catch (err) {
          return { status: 400, body: { error: (err as Error).message } };
        }
        return { status: 200, body: { name: key.name, versions: targets.length } };
      }
      return null;
    }
    if (p[0] === 'deletedkeys' && p[1]) {
      try {
        if (req.method === 'POST' && p[2] === 'recover') return { status: 200, body: this.vault.recover(p[1]) };
        if (req.method === 'DELETE' && p.length === 2) {
          this.vault.purge(p[1]);
          return { status: 204 };
        }
      } catch (err) {
        return { status: 404, body: { error: (err as Error).message } };
      }
      return null;
    }
    if (p[0] === 'firewall' && p.length === 1 && req.method === 'PUT') {
      if (typeof b.enabled !== 'boolean') return { status: 400, body: { error: 'enabled must be a boolean' } };
      this.state.firewall = { enabled: b.enabled };
      return { status: 200, body: this.state.firewall };
    }
    if (p[0] === 'permission-model' && p.length === 1 && req.method === 'PUT') {
      if (b.model !== 'rbac' && b.model !== 'accessPolicy')
        return { status: 400, body: { error: "model must be 'rbac' or 'accessPolicy'" } };
      this.ctx.propagation?.changing('azure', 'grants', this.state.grants);
      this.state.permissionModel = b.model;
      return { status: 200, body: { model: b.model } };
    }
    if (p[0] === 'grants' && p.length === 1) {
      if (req.method === 'GET') return { status: 200, body: { grants: this.state.grants } };
      const tenantId = String(b.tenantId ?? this.o.customerTenantId);
      const clientId = String(b.clientId ?? '');
      const key = String(b.key ?? '*');
      if (!GUID.test(tenantId) || !GUID.test(clientId))
        return { status: 400, body: { error: 'tenantId and clientId must be GUIDs' } };
      if (req.method === 'POST') {
        const ops = Array.isArray(b.ops) ? b.ops.map(String) : ['get', 'wrapKey', 'unwrapKey'];
        const bad = ops.filter((o) => !ADMIN_OPS.includes(o));
        if (bad.length) return { status: 400, body: { error: `unknown ops: ${bad.join(', ')}` } };
        this.ctx.propagation?.changing('azure', 'grants', this.state.grants);
        this.state.grants.push({ tenantId, clientId, key, ops });
        return { status: 201, body: { tenantId, clientId, key, ops } };
      }
      if (req.method === 'DELETE') {
        const before = this.state.grants.length;
        this.ctx.propagation?.changing('azure', 'grants', this.state.grants);
        this.state.grants = this.state.grants.filter(
          (g) => !(g.tenantId === tenantId && g.clientId === clientId && (key === '*' || g.key === key)),
        );
        return { status: 200, body: { removed: before - this.state.grants.length } };
      }
    }
    if (p[0] === 'principals' && p.length === 1) {
      if (req.method === 'GET')
        return {
          status: 200,
          body: {
            principals: this.state.apps.map((a) => ({
              clientId: a.clientId,
              tenants: a.tenants,
              displayName: a.displayName,
            })),
          },
        };
      if (req.method === 'POST') {
        const clientId = String(b.clientId ?? '');
        const clientSecret = String(b.clientSecret ?? '');
        const tenants = Array.isArray(b.tenants) ? b.tenants.map(String) : [this.o.customerTenantId];
        if (!GUID.test(clientId) || clientSecret.length < 8 || !tenants.every((t) => GUID.test(t)))
          return {
            status: 400,
            body: { error: 'clientId (GUID), clientSecret (≥ 8 chars) and tenants (GUIDs) are required' },
          };
        for (const t of tenants) if (!this.state.tenants.includes(t)) this.state.tenants.push(t);
        this.state.apps = this.state.apps.filter((a) => a.clientId !== clientId);
        this.state.apps.push({ clientId, clientSecret, tenants, displayName: String(b.displayName ?? clientId) });
        return { status: 201, body: { clientId, tenants } };
      }
    }
    if (p[0] === 'principals' && p[1] && p[2] === 'enabled' && req.method === 'PUT') {
      // enable or disable the app's service principal in a tenant (Entra: Enterprise applications → Enabled for sign-in)
      const app = this.state.apps.find((a) => a.clientId === p[1]);
      if (!app) return { status: 404, body: { error: 'no such app' } };
      if (typeof b.enabled !== 'boolean') return { status: 400, body: { error: 'enabled must be a boolean' } };
      const tenant = String(b.tenantId ?? this.o.customerTenantId);
      app.disabledIn = (app.disabledIn ?? []).filter((t) => t !== tenant);
      if (!b.enabled) app.disabledIn.push(tenant);
      return { status: 200, body: { clientId: app.clientId, tenantId: tenant, enabled: b.enabled } };
    }
    if (p[0] === 'principals' && p[1] && p[2] === 'tenants' && req.method === 'DELETE') {
      // remove the app's service principal from a tenant (customer deletes the enterprise application)
      const app = this.state.apps.find((a) => a.clientId === p[1]);
      if (!app) return { status: 404, body: { error: 'no such app' } };
      app.tenants = app.tenants.filter((t) => t !== String(b.tenantId ?? this.o.customerTenantId));
      return { status: 200, body: { clientId: app.clientId, tenants: app.tenants } };
    }
    return null;
  }
}

export function createAzureEmulator(ctx: EmulatorContext, opts: Partial<AzureEmulatorOptions>): AzureEmulator {
  return new AzureEmulator(ctx, opts);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    .end(text);
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

function secretEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
