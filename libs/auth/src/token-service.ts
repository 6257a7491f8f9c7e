import type { AdminUserRepository, AdminUserRow, ServicePrincipalRepository } from '@app/persistence';
import { isUuid } from '@app/persistence';
import { verifyClientCredentials } from './client-credentials';
import { AuthError } from './errors';
import type { LoginThrottle } from './login-throttle';
import type { MfaChallengeAnswer } from './mfa/mfa.service';
import { verifyAgainstDummy, verifySecret } from './passwords';
import { SsoError } from './sso/errors';
import type { TokenSigner } from './tokens';

export interface PasswordGrant {
  grant_type: 'password';
  tenant_id: string;
  username: string;
  password: string;
}

export interface ClientCredentialsGrant {
  grant_type: 'client_credentials';
  client_id: string;
  client_secret: string;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/**
 * What happens after a right password (the MFA step, libs/auth/src/mfa): a session token, or a second-step
 * challenge that is not a session. Without it, the password alone signs in.
 */
export type AfterPassword = (user: AdminUserRow) => Promise<IssuedToken | MfaChallengeAnswer>;

/** Email addresses compare case-insensitively and after Unicode compatibility folding (one account, one bucket). */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

/**
 * The throttling bucket of an account, in canonical form: a uuid's sixteen case variants (and an email's) name the
 * same account in the database, so they must name the same bucket.
 */
export function accountKey(grant: PasswordGrant | ClientCredentialsGrant): string {
  if (grant.grant_type === 'password')
    return `user:${grant.tenant_id.trim().toLowerCase()}:${normalizeEmail(grant.username)}`;
  return `client:${grant.client_id.trim().toLowerCase()}`;
}

/**
 * POST /v1/auth/token. Throttled (LoginThrottle) before any password work. Unknown accounts cost the same scrypt
 * work as known ones of the same grant type, and every failure has one message. Admin tokens carry the user's
 * session generation, so a later change to the user revokes them (AdminSessions).
 */
export class TokenService {
  constructor(
    private readonly admins: AdminUserRepository,
    private readonly principals: ServicePrincipalRepository,
    private readonly signer: TokenSigner,
    readonly throttle: LoginThrottle,
    /** Single sign-on: whether this tenant still accepts a password from this user ("SSO required" → break-glass only). */
    private readonly passwordAllowed?: (tenantId: string, adminUserId: string) => Promise<boolean>,
    /** MFA: what a right password leads to (a second-factor challenge, or the session when no factor is needed). */
    private readonly afterFirstFactor?: AfterPassword,
  ) {}

  async issue(
    grant: PasswordGrant | ClientCredentialsGrant,
    clientIp: string,
  ): Promise<IssuedToken | MfaChallengeAnswer> {
    const account = accountKey(grant);
    await this.throttle.before(account, clientIp);
    const issued = await this.check(grant, clientIp);
    if (!issued) {
      await this.throttle.failed(account, clientIp);
      throw grant.grant_type === 'password'
        ? new AuthError('INVALID_GRANT', 'invalid tenant, username or password')
        : new AuthError('INVALID_CLIENT', 'invalid client credentials');
    }
    await this.throttle.succeeded(account, clientIp);
    return issued;
  }

  private async check(
    grant: PasswordGrant | ClientCredentialsGrant,
    clientIp: string,
  ): Promise<IssuedToken | MfaChallengeAnswer | null> {
    if (grant.grant_type === 'password') {
      const tenantId = grant.tenant_id.trim().toLowerCase();
      const user = isUuid(tenantId) ? await this.admins.findByEmail(tenantId, normalizeEmail(grant.username)) : null;
      const ok = user
        ? await verifySecret(grant.password, user.passwordHash)
        : await verifyAgainstDummy(grant.password);
      if (!user || !ok || user.disabled) return null;
      // Asked only after the password proved right, so the answer tells an outsider nothing about the account.
      if (this.passwordAllowed && !(await this.passwordAllowed(user.tenantId, user.id)))
        throw new SsoError('SSO_REQUIRED', 'this tenant requires single sign-on; use "Sign in with SSO"');
      if (this.afterFirstFactor) return this.afterFirstFactor(user);
      return this.token({ tid: user.tenantId, sub: user.id, role: user.role, gen: user.sessionGeneration });
    }
    const sp = await verifyClientCredentials(this.principals, grant.client_id, grant.client_secret, clientIp).catch(
      (err: unknown) => {
        if (err instanceof AuthError) return null;
        throw err;
      },
    );
    if (!sp) return null;
    return this.token({ tid: sp.tenantId, sub: sp.id, role: 'service', sid: sp.secretId });
  }

  private async token(c: Parameters<TokenSigner['sign']>[0]): Promise<IssuedToken> {
    const t = await this.signer.sign(c);
    return { access_token: t.token, token_type: 'Bearer', expires_in: t.expiresIn };
  }
}
