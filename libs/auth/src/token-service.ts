import type { AdminUserRepository, ServicePrincipalRepository } from '@app/persistence';
import { isUuid } from '@app/persistence';
import { verifyClientCredentials } from './client-credentials';
import { AuthError } from './errors';
import { verifyAgainstDummy, verifySecret } from './passwords';
import type { RateLimiter } from './rate-limiter';
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
 * POST /v1/auth/token. Rate limited per client IP and per account (username / client id) before any password
 * work, so neither a single source nor a distributed guesser against one account gets unbounded attempts.
 * Unknown accounts cost the same scrypt work as known ones, and every failure has one message.
 */
export class TokenService {
  constructor(
    private readonly admins: AdminUserRepository,
    private readonly principals: ServicePrincipalRepository,
    private readonly signer: TokenSigner,
    private readonly limiter: RateLimiter,
    private readonly limits: { perIpPerMinute: number; perPrincipalPerMinute: number },
  ) {}

  async issue(grant: PasswordGrant | ClientCredentialsGrant, clientIp: string): Promise<IssuedToken> {
    const account = grant.grant_type === 'password' ? `user:${grant.tenant_id}:${grant.username.toLowerCase()}` : `client:${grant.client_id}`;
    await this.limit(`ip:${clientIp}`, this.limits.perIpPerMinute);
    await this.limit(account, this.limits.perPrincipalPerMinute);

    if (grant.grant_type === 'password') {
      const user = isUuid(grant.tenant_id) ? await this.admins.findByEmail(grant.tenant_id, grant.username.toLowerCase()) : null;
      const ok = user ? await verifySecret(grant.password, user.passwordHash) : await verifyAgainstDummy(grant.password);
      if (!user || !ok) throw new AuthError('INVALID_GRANT', 'invalid tenant, username or password');
      return this.token({ tid: user.tenantId, sub: user.id, role: user.role });
    }
    const sp = await verifyClientCredentials(this.principals, grant.client_id, grant.client_secret, clientIp);
    return this.token({ tid: sp.tenantId, sub: sp.id, role: 'service', sid: sp.secretId });
  }

  private token(c: Parameters<TokenSigner['sign']>[0]): IssuedToken {
    const t = this.signer.sign(c);
    return { access_token: t.token, token_type: 'Bearer', expires_in: t.expiresIn };
  }

  private async limit(bucket: string, max: number): Promise<void> {
    const r = await this.limiter.hit(`token:${bucket}`, max);
    if (!r.allowed) throw new AuthError('RATE_LIMITED', 'too many token requests; retry later', r.retryAfterSeconds);
  }
}
