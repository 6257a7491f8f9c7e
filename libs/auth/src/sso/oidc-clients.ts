import { BaseClient, custom, Issuer } from 'openid-client';
import { SsoError } from './errors';
import { assertOutboundUrl, guardedLookup, OutboundPolicy } from './outbound';

/**
 * openid-client `Client`s for tenants' IdPs, built on demand and kept per (tenant, configuration version): a
 * changed configuration is a new key, so a client for the old issuer or secret is never used again.
 *
 * Every HTTP request openid-client makes (discovery on the Issuer class, JWKS on the issuer, token on the client)
 * goes through the `http_options` hook, which checks the URL and installs the connect-time address guard.
 */
export interface ClientConfig {
  tenantId: string;
  version: number;
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

const TIMEOUT_MS = 5_000;
const MAX_CLIENTS = 1_000;

export class OidcClients {
  private readonly clients = new Map<string, { client: BaseClient; at: number }>();
  private readonly hook: (url: URL, options: Record<string, unknown>) => Record<string, unknown>;

  constructor(
    private readonly policy: OutboundPolicy,
    private readonly maxAgeMs = 10 * 60_000,
  ) {
    const lookup = guardedLookup(policy);
    this.hook = (url, options) => {
      assertOutboundUrl(url, policy, 'an IdP endpoint');
      return { ...options, lookup, timeout: TIMEOUT_MS };
    };
  }

  async get(c: ClientConfig): Promise<BaseClient> {
    const key = `${c.tenantId}:${c.version}`;
    const hit = this.clients.get(key);
    if (hit && Date.now() - hit.at < this.maxAgeMs) return hit.client;
    const client = await this.build(c);
    for (const k of this.clients.keys()) if (k.startsWith(`${c.tenantId}:`)) this.clients.delete(k);
    if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value as string);
    this.clients.set(key, { client, at: Date.now() });
    return client;
  }

  /** Discovery, checked: the document must name exactly the configured issuer and usable endpoints. */
  async build(c: ClientConfig): Promise<BaseClient> {
    // Issuer.discover is static: the hook goes on the class, which only SSO uses in this process.
    (Issuer as unknown as Record<symbol, unknown>)[custom.http_options] = this.hook;
    let issuer: Issuer;
    try {
      issuer = await Issuer.discover(`${c.issuer}/.well-known/openid-configuration`);
    } catch (err) {
      if (err instanceof SsoError) throw err;
      throw new SsoError(
        'SSO_ISSUER_UNREACHABLE',
        `the issuer's discovery document could not be read (${shortReason(err)})`,
      );
    }
    const m = issuer.metadata;
    if (m.issuer !== c.issuer && m.issuer !== `${c.issuer}/`)
      throw new SsoError(
        'SSO_ISSUER_UNREACHABLE',
        'the discovery document names a different issuer than the one configured',
      );
    for (const [name, value] of [
      ['authorization_endpoint', m.authorization_endpoint],
      ['token_endpoint', m.token_endpoint],
      ['jwks_uri', m.jwks_uri],
    ] as const) {
      if (typeof value !== 'string')
        throw new SsoError('SSO_ISSUER_UNREACHABLE', `the discovery document has no ${name}`);
      assertOutboundUrl(value, this.policy, `the IdP's ${name}`);
    }
    (issuer as unknown as Record<symbol, unknown>)[custom.http_options] = this.hook;
    const client = new issuer.Client({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [c.redirectUri],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
    });
    (client as unknown as Record<symbol, unknown>)[custom.http_options] = this.hook;
    client[custom.clock_tolerance] = 5;
    return client;
  }

  forget(tenantId: string): void {
    for (const k of this.clients.keys()) if (k.startsWith(`${tenantId}:`)) this.clients.delete(k);
  }
}

/** A reason safe to show an admin: a class of failure, never a response body. */
export function shortReason(err: unknown): string {
  const e = err as { code?: string; message?: string; name?: string };
  if (e?.code === 'EKEYHOLD_BLOCKED_ADDRESS') return 'the host resolves to an internal address';
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (e?.code === 'ECONNREFUSED') return 'the connection was refused';
  if (/timed out/.test(String(e?.message))) return 'the request timed out';
  if (/expected 200 OK/.test(String(e?.message))) return 'the server did not answer 200 OK';
  if (e?.name === 'SyntaxError') return 'the answer is not JSON';
  return 'the request failed';
}
