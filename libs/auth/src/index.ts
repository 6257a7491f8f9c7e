export { AuthError, AuthErrorCode } from './errors';
export { hashSecret, verifySecret, verifyAgainstDummy, CLIENT_SECRET_HASH_PARAMS } from './passwords';
export { TokenSigner, AccessClaims, Role, ADMIN_AUDIENCE, INTERNAL_AUDIENCE, ISSUER, bearerToken } from './tokens';
export { LoginThrottle, LoginThrottleLimits } from './login-throttle';
export { TokenService, PasswordGrant, ClientCredentialsGrant, normalizeEmail, accountKey } from './token-service';
export { VerifiedTokenCache } from './verified-token-cache';
export { ServicePrincipalGate, PrincipalStateSource } from './service-principal-gate';
export { PrincipalInvalidationBus } from './principal-invalidation-bus';
export { IpAllowList, canonicalCidr, MAX_ALLOW_LIST_ENTRIES } from './ip-allow-list';
export { verifyClientCredentials } from './client-credentials';
export { AdminSessions, GenerationLoader } from './admin-sessions';
export { newOneTimeToken, hashOneTimeToken, ONE_TIME_TOKEN_RE } from './one-time-token';
export { passwordProblem, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH } from './password-policy';
export { MailMessage, MailSender, StoredMail, DevMailbox, UnconfiguredMailSender, WebhookMailSender } from './mail';
export {
  buildSso,
  Sso,
  SsoError,
  SsoErrorCode,
  SSO_ERROR_STATUS,
  SSO_CALLBACK_PATH,
  loadSsoSettings,
  SsoSettings,
  SsoConfigurationInput,
  CallbackParams,
  GetSsoConfigurationCommand,
  PutSsoConfigurationCommand,
  DeleteSsoConfigurationCommand,
  StartSsoSignInCommand,
  CompleteSsoSignInCommand,
  ExchangeSsoHandoffCommand,
} from './sso';
export * from './mfa';
export {
  AuthModule,
  ADMIN_TOKENS,
  SERVICE_TOKENS,
  MAIL_SENDER,
  DEV_MAILBOX,
  SSO,
  PRINCIPAL_POLL_MS,
} from './auth.module';
