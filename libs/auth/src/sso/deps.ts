import type { AuditLog } from '@app/audit';
import type { Repositories } from '@app/persistence';
import type { TokenSigner } from '../tokens';
import type { LoginRecords } from './login-records';
import type { OidcClients } from './oidc-clients';
import type { OutboundPolicy } from './outbound';
import type { SecretBox } from './secret-box';

export interface SsoDeps {
  readonly repos: Repositories;
  readonly audit: AuditLog;
  /** Null when no SSO secret key is configured (production without KEYHOLD_SSO_SECRET_KEY): SSO is unavailable. */
  readonly box: SecretBox | null;
  readonly clients: OidcClients;
  readonly policy: OutboundPolicy;
  /** The one redirect URI, from configuration (KEYHOLD_PUBLIC_URL + /v1/sso/callback), never from a request. */
  readonly redirectUri: string;
  /** Where the console lives (the callback sends the browser back there). */
  readonly consoleUrl: string;
  readonly records: LoginRecords;
  readonly signer: TokenSigner;
  /** Broadcast that a user's older sessions are void (AdminSessions). */
  readonly sessions: { revoked(userId: string, generation: number | null): Promise<void> };
  /**
   * What a user the IdP vouched for gets: the session, or the tenant's second-factor step (MFA policy, enrolled
   * factors). The IdP proves the first factor only; without this hook SSO would bypass "passkeys for key admins".
   */
  readonly afterFirstFactor: (user: {
    tenantId: string;
    id: string;
    email: string;
    role: 'key_admin' | 'auditor';
    disabled: boolean;
    sessionGeneration: number;
  }) => Promise<
    | { access_token: string; token_type: 'Bearer'; expires_in: number }
    | { mfa_required: true; mfa_token: string; mfa_mode: string; methods: readonly string[]; expires_in: number }
  >;
}
