import * as grpc from '@grpc/grpc-js';
import type { AdminRequest, AdminResponse, CloudEmulator, EmulatorContext } from '../core/cloud';
import { TokenRegistry } from './iam';
import { IamCredentialsServer } from './iam-credentials';
import { KmsService } from './kms-service';
import { loadGcpServices } from './protos';
import { GcpState } from './state';

export interface GcpEmulatorOptions {
  /** Project whose service accounts the vendor principal may impersonate. */
  vendorProject: string;
  /** The vendor's own identity (source of impersonation). */
  vendorServiceAccount: string;
  /** Static bearer token that authenticates the vendor principal (emulator/dev only). */
  vendorToken: string;
  /** Member a call without any identity acts as (the customer project's owner, for key setup). */
  ownerMember: string;
  /** Port of the IAM Credentials https server (0 = ephemeral). */
  iamPort: number;
  /** Upper bound on generateAccessToken lifetime, seconds. */
  maxTokenLifetimeSeconds: number;
}

export const GCP_EMULATOR_DEFAULTS: Readonly<GcpEmulatorOptions> = Object.freeze({
  vendorProject: 'keyhold-vendor',
  vendorServiceAccount: 'keyhold-platform@keyhold-vendor.iam.gserviceaccount.com',
  vendorToken: 'keyhold-vendor-local-token',
  ownerMember: 'user:owner@customer.example',
  iamPort: 0,
  maxTokenLifetimeSeconds: 3600,
});

export interface GcpEndpoints {
  kms: { host: string; port: number };
  /** Base URL for google-auth-library `Impersonated({ endpoint })`. */
  iamCredentials: string;
}

export interface GcpEmulator extends CloudEmulator {
  /** Where the emulator listens (null before start). Also served as admin `GET /gcp/endpoints`. */
  endpoints(): GcpEndpoints | null;
}

/**
 * Google Cloud KMS over gRPC+TLS (the real service.proto) plus an IAM Credentials `generateAccessToken`
 * endpoint over https on a second port. Callers are identified by bearer token on every call.
 */
export function createGcpEmulator(ctx: EmulatorContext, opts: Partial<GcpEmulatorOptions>): GcpEmulator {
  const o: GcpEmulatorOptions = { ...GCP_EMULATOR_DEFAULTS, ...opts };
  const vendorMember = `serviceAccount:${o.vendorServiceAccount}`;
  const state = new GcpState();
  const tokens = new TokenRegistry(new Map([[o.vendorToken, vendorMember]]));
  const kms = new KmsService(ctx, state, tokens, { ownerMember: o.ownerMember });
  const iam = new IamCredentialsServer(ctx, state, tokens, {
    vendorProject: o.vendorProject,
    vendorMember,
    maxLifetimeSeconds: o.maxTokenLifetimeSeconds,
  });
  let server: grpc.Server | null = null;
  let endpoints: GcpEndpoints | null = null;

  async function admin(req: AdminRequest): Promise<AdminResponse | null> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const str = (k: string) => (typeof body[k] === 'string' ? body[k] : undefined);
    switch (`${req.method} ${req.path}`) {
      case 'GET /endpoints':
        return endpoints
          ? { status: 200, body: endpoints }
          : { status: 503, body: { error: 'gcp emulator not started' } };
      case 'GET /tokens':
        return { status: 200, body: { tokens: tokens.list() } };
      case 'POST /tokens/revoke':
        return { status: 200, body: { revoked: tokens.revoke(str('member')) } };
      case 'POST /tokens/expire': {
        const member = str('member');
        if (!member)
          return {
            status: 400,
            body: { error: 'member (e.g. serviceAccount:x@p.iam.gserviceaccount.com) is required' },
          };
        return { status: 200, body: { expired: tokens.expire(member) } };
      }
      case 'POST /service-accounts/disable':
      case 'POST /service-accounts/enable': {
        const email = str('email');
        if (!email || !email.includes('@'))
          return { status: 400, body: { error: 'email of a service account is required' } };
        if (req.path.endsWith('disable')) state.disabledServiceAccounts.add(email);
        else state.disabledServiceAccounts.delete(email);
        ctx.persist();
        return { status: 200, body: { email, disabled: state.disabledServiceAccounts.has(email) } };
      }
      case 'POST /service-accounts/strict': {
        if (typeof body.enabled !== 'boolean') return { status: 400, body: { error: 'enabled (boolean) is required' } };
        state.strictServiceAccounts = body.enabled;
        ctx.persist();
        return { status: 200, body: { strict: state.strictServiceAccounts } };
      }
      case 'POST /service-accounts':
      case 'DELETE /service-accounts': {
        const email = str('email');
        if (
          !email ||
          !/^[a-z][a-z0-9-]{4,61}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$/.test(email)
        )
          return {
            status: 400,
            body: { error: 'email of a service account (name@project.iam.gserviceaccount.com) is required' },
          };
        if (req.method === 'DELETE') {
          if (!state.serviceAccounts.delete(email))
            return { status: 404, body: { error: `no service account ${email}` } };
          ctx.persist();
          return { status: 204 };
        }
        // What the vendor's provisioning does: create the account and let the vendor identity mint its tokens.
        state.serviceAccounts.set(email, new Set([vendorMember]));
        ctx.persist();
        return { status: 201, body: { email, tokenCreators: [vendorMember] } };
      }
      case 'POST /service-accounts/token-creators': {
        const email = str('email');
        const member = str('member');
        const creators = email ? state.serviceAccounts.get(email) : undefined;
        if (!creators) return { status: 404, body: { error: `no service account ${email ?? ''}` } };
        if (!member || typeof body.granted !== 'boolean')
          return { status: 400, body: { error: 'member and granted (boolean) are required' } };
        if (body.granted) creators.add(member);
        else creators.delete(member);
        ctx.persist();
        return { status: 200, body: { email, tokenCreators: [...creators] } };
      }
      case 'PUT /projects/iam': {
        // Project-level IAM (what `gcloud projects add-iam-policy-binding` sets): {project, bindings, version?}
        const project = str('project');
        if (!project || !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project))
          return { status: 400, body: { error: 'project (a project id) is required' } };
        if (!Array.isArray(body.bindings))
          return { status: 400, body: { error: 'bindings (array of {role, members, condition?}) is required' } };
        try {
          const p = kms.setProjectPolicy(
            project,
            body.bindings as Record<string, unknown>[],
            Number(body.version) || 1,
          );
          return { status: 200, body: { project, version: p.version, bindings: p.bindings } };
        } catch (err) {
          return { status: 400, body: { error: (err as Error).message } };
        }
      }
      case 'POST /versions/destroy-now': {
        const name = str('name');
        if (!name) return { status: 400, body: { error: 'name of a CryptoKeyVersion is required' } };
        return kms.destroyNow(name)
          ? { status: 200, body: { name, state: 'DESTROYED' } }
          : { status: 404, body: { error: `no version ${name}` } };
      }
      default:
        return null;
    }
  }

  return {
    cloud: 'gcp',
    async start(host: string, port: number) {
      const defs = loadGcpServices();
      const s = new grpc.Server();
      s.addService(defs.kms, kms.kmsHandlers(defs.kms));
      s.addService(defs.iamPolicy, kms.iamHandlers(defs.iamPolicy));
      const creds = grpc.ServerCredentials.createSsl(
        null,
        [{ private_key: Buffer.from(ctx.tls.key), cert_chain: Buffer.from(ctx.tls.cert) }],
        false,
      );
      const bound = await new Promise<number>((resolve, reject) =>
        s.bindAsync(`${host}:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
      );
      server = s;
      const iamAt = await iam.start(host, o.iamPort);
      endpoints = { kms: { host, port: bound }, iamCredentials: iamAt.url };
      return { url: `${host}:${bound}`, port: bound };
    },
    async close() {
      const s = server;
      server = null;
      endpoints = null;
      // forceShutdown: hung calls ("hang" faults) must not keep the server open.
      s?.forceShutdown();
      await iam.close();
    },
    resetState() {
      state.reset();
      tokens.clear();
    },
    exportState: () => state.export(),
    importState: (raw: unknown) => state.import(raw),
    admin,
    endpoints: () => endpoints,
  };
}
