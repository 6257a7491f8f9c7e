import type { AuditLog } from '@app/audit';
import type { Repositories } from '@app/persistence';
import type Redis from 'ioredis';
import type { TokenSigner } from '../tokens';
import type { SsoDeps } from './deps';
import { LoginRecords } from './login-records';
import { OidcClients } from './oidc-clients';
import { SecretBox } from './secret-box';
import type { SsoSettings } from './settings';
import {
  DeleteSsoConfiguration,
  GetSsoConfiguration,
  PutSsoConfiguration,
  SsoPasswordPolicy,
} from './sso-configuration.use-cases';
import { CompleteSsoSignIn, ExchangeSsoHandoff, StartSsoSignIn } from './sso-sign-in';

export { SsoError, SsoErrorCode, SSO_ERROR_STATUS } from './errors';
export { SsoSettings, loadSsoSettings } from './settings';
export { SecretBox } from './secret-box';
export { parseIssuerUrl } from './issuer-url';
export { assertOutboundUrl, addressAllowed, OutboundPolicy } from './outbound';
export { emailFromClaims, roleFromClaims } from './identity';
export {
  SsoConfigurationInput,
  GetSsoConfigurationCommand,
  PutSsoConfigurationCommand,
  DeleteSsoConfigurationCommand,
} from './sso-configuration.use-cases';
export {
  CallbackParams,
  StartSsoSignInCommand,
  CompleteSsoSignInCommand,
  ExchangeSsoHandoffCommand,
} from './sso-sign-in';

/** The path of the one redirect URI, appended to KEYHOLD_PUBLIC_URL. */
export const SSO_CALLBACK_PATH = '/v1/sso/callback';

/** Everything single sign-on needs, built once by the API's composition root. */
export function buildSso(c: {
  settings: SsoSettings;
  repos: Repositories;
  audit: AuditLog;
  redis: Redis;
  redisPrefix: string;
  publicUrl: string;
  signer: TokenSigner;
  sessions: SsoDeps['sessions'];
  afterFirstFactor: SsoDeps['afterFirstFactor'];
}) {
  const policy = { allowLoopback: c.settings.allowLoopbackIssuers };
  const deps: SsoDeps = {
    repos: c.repos,
    audit: c.audit,
    box: c.settings.secretKey ? new SecretBox(c.settings.secretKey) : null,
    clients: new OidcClients(policy),
    policy,
    redirectUri: `${c.publicUrl}${SSO_CALLBACK_PATH}`,
    consoleUrl: c.publicUrl,
    records: new LoginRecords(c.redis, c.redisPrefix, c.settings.loginTtlSeconds),
    signer: c.signer,
    sessions: c.sessions,
    afterFirstFactor: c.afterFirstFactor,
  };
  return {
    redirectUri: deps.redirectUri,
    consoleUrl: deps.consoleUrl,
    getConfiguration: new GetSsoConfiguration(deps),
    putConfiguration: new PutSsoConfiguration(deps),
    deleteConfiguration: new DeleteSsoConfiguration(deps),
    passwordPolicy: new SsoPasswordPolicy(deps),
    start: new StartSsoSignIn(deps),
    complete: new CompleteSsoSignIn(deps),
    exchange: new ExchangeSsoHandoff(deps),
  };
}

export type Sso = ReturnType<typeof buildSso>;
