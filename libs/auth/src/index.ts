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
