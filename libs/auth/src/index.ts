export { AuthError, AuthErrorCode } from './errors';
export { hashSecret, verifySecret, verifyAgainstDummy } from './passwords';
export {
  TokenSigner,
  AccessClaims,
  Role,
  ADMIN_AUDIENCE,
  INTERNAL_AUDIENCE,
  ISSUER,
  operatorTokenMatches,
  bearerToken,
} from './tokens';
export { RateLimiter } from './rate-limiter';
export { TokenService, PasswordGrant, ClientCredentialsGrant } from './token-service';
export { VerifiedTokenCache } from './verified-token-cache';
export { ServicePrincipalGate, PrincipalStateSource } from './service-principal-gate';
export { PrincipalInvalidationBus } from './principal-invalidation-bus';
export { IpAllowList, canonicalCidr, MAX_ALLOW_LIST_ENTRIES } from './ip-allow-list';
export { verifyClientCredentials } from './client-credentials';
