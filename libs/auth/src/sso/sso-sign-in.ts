import { randomBytes, randomUUID } from 'node:crypto';
import { isUuid, type SsoConfigurationRow } from '@app/persistence';
import { errors as oidcErrors, generators, type BaseClient } from 'openid-client';
import { hashSecret } from '../passwords';
import type { SsoDeps } from './deps';
import { SsoError } from './errors';
import { emailFromClaims, roleFromClaims } from './identity';
import { browserMatches, newSecret } from './login-records';

export interface StartSsoSignInCommand {
  /** As typed on the sign-in page: trimmed and lower-cased here. */
  readonly tenantId: string;
}

/**
 * Sign-in through the tenant's IdP: OpenID Connect authorization code flow with PKCE (S256), state and nonce.
 *
 * Why not openid-client's Passport strategy: it keeps state, nonce and verifier in an express-style `req.session`
 * (the API has none: it is stateless and runs as several replicas) and binds one client per strategy instance,
 * while here the client is the tenant's, chosen per request from the record the state points to. The checks are
 * the same call the strategy makes (`client.callback` with state, nonce, code_verifier); the records live in
 * Redis, single use, bound to the browser by an httpOnly cookie.
 *
 * Tenant binding: the tenant comes from the login request and travels only inside the server-side record; the
 * callback uses that tenant's client (issuer, client id, JWKS), so a code or ID token from another tenant's IdP
 * fails the token exchange or the `iss`/`aud` checks, and a configuration changed in between ends the attempt.
 */
export class StartSsoSignIn {
  constructor(private readonly deps: SsoDeps) {}

  /** → the IdP's authorization URL and the browser secret for the httpOnly cookie. */
  async execute(cmd: StartSsoSignInCommand): Promise<{ authorizationUrl: string; browserSecret: string }> {
    const tenantId = cmd.tenantId.trim().toLowerCase();
    const config = isUuid(tenantId) ? await this.deps.repos.sso.find(tenantId) : null;
    if (!config) throw new SsoError('SSO_NOT_CONFIGURED', 'single sign-on is not set up for this tenant');
    const client = await clientFor(this.deps, config);
    const state = newSecret();
    const nonce = newSecret();
    const codeVerifier = generators.codeVerifier();
    const browserSecret = newSecret();
    await this.deps.records.savePending(state, {
      tenantId,
      version: config.version,
      nonce,
      codeVerifier,
      browserHash: this.deps.records.browserHash(browserSecret),
    });
    const authorizationUrl = client.authorizationUrl({
      scope: 'openid email profile',
      redirect_uri: this.deps.redirectUri,
      response_type: 'code',
      state,
      nonce,
      code_challenge: generators.codeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { authorizationUrl, browserSecret };
  }
}

export interface CallbackParams {
  state?: string;
  code?: string;
  error?: string;
  iss?: string;
}

export interface CompleteSsoSignInCommand {
  readonly params: CallbackParams;
  /** From the httpOnly cookie set when the sign-in started. */
  readonly browserSecret: string | undefined;
}

export class CompleteSsoSignIn {
  constructor(private readonly deps: SsoDeps) {}

  /**
   * → the secret of a handoff record the console exchanges for a session (POST /v1/sso/session). Failures after
   * the tenant is known are audited in its log with their code.
   */
  async execute({ params, browserSecret }: CompleteSsoSignInCommand): Promise<{ handoff: string; tenantId: string }> {
    const pending = typeof params.state === 'string' ? await this.deps.records.takePending(params.state) : null;
    if (!pending)
      throw new SsoError('SSO_STATE_INVALID', 'this sign-in is unknown, already used or expired; start again');
    const tenantId = pending.tenantId;
    try {
      if (!browserMatches(browserSecret, pending.browserHash))
        throw new SsoError('SSO_STATE_INVALID', 'this sign-in was started in another browser; start again');
      if (params.error) throw new SsoError('SSO_IDP_ERROR', 'the identity provider did not sign you in');
      if (typeof params.code !== 'string' || params.code.length === 0 || params.code.length > 2048)
        throw new SsoError('SSO_CODE_REJECTED', 'the callback carries no authorization code');
      const config = await this.deps.repos.sso.find(tenantId);
      if (!config || config.version !== pending.version)
        throw new SsoError('SSO_STATE_INVALID', "the tenant's SSO configuration changed during sign-in; start again");
      const client = await clientFor(this.deps, config);
      const claims = await redeem(
        client,
        this.deps.redirectUri,
        params,
        pending.nonce,
        pending.codeVerifier,
        config.clientId,
      );
      const user = await this.provision(tenantId, config, client.issuer.metadata.issuer, claims);
      const handoff = newSecret();
      await this.deps.records.saveFinished(handoff, {
        tenantId,
        adminUserId: user.id,
        email: user.email,
        browserHash: pending.browserHash,
      });
      return { handoff, tenantId };
    } catch (err) {
      const code = err instanceof SsoError ? err.code : 'INTERNAL_ERROR';
      await this.deps.audit
        .append(tenantId, {
          actor: 'sso',
          action: 'sso.sign_in',
          target: `tenant:${tenantId}/sso`,
          outcome: 'failure',
          details: { code },
        })
        .catch(() => undefined);
      throw err;
    }
  }

  /**
   * Just-in-time provisioning under the tenant row's lock: find the user by linked IdP subject or by email, create
   * one (role from the group mapping, an unusable random password) if none, keep the role in step with the IdP,
   * and commit the sign-in's audit record with it.
   */
  private async provision(
    tenantId: string,
    config: SsoConfigurationRow,
    issuer: string,
    claims: Record<string, unknown>,
  ) {
    const email = emailFromClaims(claims, config.allowedEmailDomains);
    const role = roleFromClaims(claims, config.groupsClaim, config.roleMappings);
    const subject = String(claims.sub);
    const r = await this.deps.repos.ds.transaction(async (m) => {
      await m.query(`SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, [tenantId]);
      const events: Array<{ action: string; target: string; details: Record<string, unknown> }> = [];
      const linked = await this.deps.repos.sso.linkedUser(m, tenantId, issuer, subject);
      const byEmail = await this.deps.repos.sso.userByEmail(m, tenantId, email);
      if (linked && byEmail && byEmail.id !== linked)
        throw new SsoError('SSO_IDENTITY_MISMATCH', 'this IdP account is linked to another Keyhold user');
      let user = linked ? await this.deps.repos.sso.userById(m, tenantId, linked) : byEmail;
      if (user && !linked) {
        if (await this.deps.repos.sso.linkedSubject(m, tenantId, user.id, issuer))
          throw new SsoError(
            'SSO_IDENTITY_MISMATCH',
            'this email address belongs to a Keyhold user linked to another IdP account',
          );
        await this.deps.repos.sso.link(m, tenantId, user.id, issuer, subject);
      }
      let generation: number | null = null;
      if (!user) {
        const id = randomUUID();
        // A password nobody knows (a real scrypt hash, so a password attempt costs the same as for anyone else).
        const passwordHash = await hashSecret(randomBytes(32).toString('base64url'));
        await this.deps.repos.adminAccounts.insert(m, tenantId, { id, email, passwordHash, role });
        await this.deps.repos.sso.link(m, tenantId, id, issuer, subject);
        user = { id, email, role, disabled: false };
        events.push({
          action: 'admin_user.provisioned',
          target: `admin_user:${id}`,
          details: { email, role, via: 'sso', issuer },
        });
      } else if (user.disabled) {
        throw new SsoError('SSO_ACCOUNT_DISABLED', 'this Keyhold user is disabled');
      } else if (user.role !== role) {
        const synced = await this.deps.repos.sso.syncRole(m, tenantId, user.id, role);
        if (!synced.keyAdminRemains)
          throw new SsoError('SSO_LAST_KEY_ADMIN', "the IdP's groups would leave this tenant without a key admin");
        generation = synced.generation;
        events.push({
          action: 'admin_user.role_changed',
          target: `admin_user:${user.id}`,
          details: { from: user.role, to: role, via: 'sso' },
        });
        user = { ...user, role };
      }
      events.push({ action: 'sso.sign_in', target: `admin_user:${user.id}`, details: { email, role, issuer } });
      await this.deps.audit.appendMany(
        tenantId,
        events.map((e) => ({ actor: `sso:${user.id}`, outcome: 'success', ...e })),
        m,
      );
      return { user, generation };
    });
    // The role changed: sessions issued under the old one end on every replica.
    if (r.generation !== null) await this.deps.sessions.revoked(r.user.id, r.generation);
    return r.user;
  }
}

export interface ExchangeSsoHandoffCommand {
  readonly handoff: string | undefined;
  readonly browserSecret: string | undefined;
}

/** POST /v1/sso/session: the finished sign-in (same browser, once) → a Keyhold access token. */
export class ExchangeSsoHandoff {
  constructor(private readonly deps: SsoDeps) {}

  async execute({ handoff, browserSecret }: ExchangeSsoHandoffCommand) {
    const f = handoff ? await this.deps.records.takeFinished(handoff) : null;
    if (!f || !browserMatches(browserSecret, f.browserHash))
      throw new SsoError('SSO_HANDOFF_INVALID', 'no finished single sign-on for this browser; sign in again');
    const u = await this.deps.repos.adminAccounts.find(f.tenantId, f.adminUserId);
    if (!u || u.disabled) throw new SsoError('SSO_ACCOUNT_DISABLED', 'this Keyhold user is disabled');
    // The tenant's MFA policy applies after the IdP exactly as after a password: a session, or the second step.
    const next = await this.deps.afterFirstFactor({ ...u, tenantId: f.tenantId });
    return { ...next, tenant_id: f.tenantId, email: u.email, role: u.role };
  }
}

async function clientFor(deps: SsoDeps, c: SsoConfigurationRow): Promise<BaseClient> {
  if (!deps.box) throw new SsoError('SSO_UNAVAILABLE', 'single sign-on is not enabled on this installation');
  let clientSecret: string;
  try {
    clientSecret = deps.box.open(c.tenantId, c.clientSecretSealed);
  } catch {
    throw new SsoError(
      'SSO_UNAVAILABLE',
      'the stored client secret cannot be opened (the SSO secret key changed); a key admin must enter it again',
    );
  }
  return deps.clients.get({
    tenantId: c.tenantId,
    version: c.version,
    issuer: c.issuer,
    clientId: c.clientId,
    clientSecret,
    redirectUri: deps.redirectUri,
  });
}

/**
 * Code → tokens → validated ID token claims. openid-client checks the state, the `iss` response parameter when the
 * IdP announces it, the ID token's signature (IdP JWKS), `iss`, `aud` (and `azp`), `exp`/`iat`, the nonce and the
 * PKCE verifier; `aud` and `iss` are checked once more here so that guarantee does not rest on a library default.
 */
async function redeem(
  client: BaseClient,
  redirectUri: string,
  params: CallbackParams,
  nonce: string,
  codeVerifier: string,
  clientId: string,
): Promise<Record<string, unknown>> {
  const callbackParams: Record<string, string> = { code: params.code!, state: params.state! };
  if (typeof params.iss === 'string') callbackParams.iss = params.iss;
  let claims: Record<string, unknown>;
  try {
    const tokens = await client.callback(redirectUri, callbackParams, {
      state: params.state,
      nonce,
      code_verifier: codeVerifier,
      response_type: 'code',
    });
    if (!tokens.id_token) throw new SsoError('SSO_TOKEN_REJECTED', 'the IdP returned no ID token');
    claims = tokens.claims();
  } catch (err) {
    if (err instanceof SsoError) throw err;
    if (err instanceof oidcErrors.OPError) {
      if (err.error === 'invalid_grant')
        throw new SsoError(
          'SSO_CODE_REJECTED',
          'the IdP refused the authorization code (used, expired or issued to another client)',
        );
      throw new SsoError('SSO_IDP_ERROR', `the IdP refused the sign-in (${String(err.error).slice(0, 64)})`);
    }
    if (err instanceof oidcErrors.RPError)
      throw new SsoError('SSO_TOKEN_REJECTED', `the ID token was refused: ${rpReason(err.message)}`);
    throw new SsoError('SSO_IDP_ERROR', 'the IdP could not be reached to complete the sign-in');
  }
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== client.issuer.metadata.issuer || !aud.includes(clientId) || typeof claims.sub !== 'string')
    throw new SsoError('SSO_TOKEN_REJECTED', 'the ID token was refused: issuer or audience mismatch');
  return claims;
}

/** openid-client's messages carry the expected and received values (nonces included): keep only the kind. */
function rpReason(message: string): string {
  if (/aud/.test(message)) return 'it was issued for another client (audience mismatch)';
  if (/nonce/.test(message)) return 'nonce mismatch';
  if (/iss/.test(message)) return 'issuer mismatch';
  if (/state/.test(message)) return 'state mismatch';
  if (/exp|iat|nbf|auth_time|timestamp/.test(message)) return 'expired or not yet valid';
  if (/signature|alg|kid|JWKS|key/i.test(message)) return 'bad signature';
  return 'validation failed';
}
