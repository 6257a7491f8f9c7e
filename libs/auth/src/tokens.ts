import { createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { legacyTokenKeyId, TOKEN_KEY_MIN_BYTES, type TokenKey } from '@app/config';
import { AuthError } from './errors';

/**
 * Short-lived HS256 JWT access tokens (`jose`). Two audiences keep the APIs apart: `keyhold-admin` (key admins,
 * auditors) and `keyhold-internal` (service principals, DEK API). A token for one is refused by the other.
 */
export const ADMIN_AUDIENCE = 'keyhold-admin';
export const INTERNAL_AUDIENCE = 'keyhold-internal';
export const ISSUER = 'keyhold';

export type Role = 'key_admin' | 'auditor' | 'service';

export interface AccessClaims {
  readonly iss: string;
  readonly aud: typeof ADMIN_AUDIENCE | typeof INTERNAL_AUDIENCE;
  /** Tenant id: the only source of tenant scope. */
  readonly tid: string;
  /** Admin user id or service principal id. */
  readonly sub: string;
  readonly role: Role;
  /** Admin tokens: the user's session generation at issue; a later change to the user revokes the token. */
  readonly gen?: number;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** Service tokens: the id of the client secret they were issued for (they stop when it is revoked or expires). */
  readonly sid?: string;
}

const ALGORITHM = 'HS256';
/** A token longer than this is refused before any parsing (nothing Keyhold signs comes close). */
const MAX_TOKEN_LENGTH = 4096;

/**
 * Signs and verifies access tokens with `jose` over a key set (`TokenKey`): the first key signs and names itself in
 * the header (`kid`); any key of the set verifies, so a new key can be rolled out before it signs and an old one kept
 * until its last token has expired. Only HS256 is accepted (no `none`, no algorithm confusion).
 */
export class TokenSigner {
  private readonly signing: { kid: string; key: KeyObject };
  private readonly verifying: ReadonlyMap<string, KeyObject>;
  /** The key that verifies tokens issued before tokens named their key (only a `KEYHOLD_TOKEN_SECRET` key). */
  private readonly unnamed: KeyObject | undefined;

  constructor(
    keys: readonly TokenKey[] | string,
    private readonly ttlSeconds: number,
  ) {
    const set = typeof keys === 'string' ? [{ kid: legacyTokenKeyId(keys), secret: keys }] : keys;
    if (set.length === 0) throw new Error('at least one token key is required');
    for (const k of set)
      if (Buffer.byteLength(k.secret) < TOKEN_KEY_MIN_BYTES) throw new Error('token secret must be at least 32 bytes');
    const verifying = new Map(set.map((k) => [k.kid, createSecretKey(Buffer.from(k.secret, 'utf8'))]));
    this.verifying = verifying;
    this.signing = { kid: set[0].kid, key: verifying.get(set[0].kid) as KeyObject };
    const legacy = set.find((k) => k.kid === legacyTokenKeyId(k.secret));
    this.unnamed = legacy ? verifying.get(legacy.kid) : undefined;
  }

  /** The key id new tokens name. */
  get signingKeyId(): string {
    return this.signing.kid;
  }

  async sign(
    c: { tid: string; sub: string; role: Role; sid?: string; gen?: number },
    now = Date.now(),
  ): Promise<{ token: string; expiresIn: number; claims: AccessClaims }> {
    const iat = Math.floor(now / 1000);
    const claims: AccessClaims = {
      iss: ISSUER,
      aud: c.role === 'service' ? INTERNAL_AUDIENCE : ADMIN_AUDIENCE,
      tid: c.tid,
      sub: c.sub,
      role: c.role,
      ...(c.gen !== undefined ? { gen: c.gen } : {}),
      iat,
      exp: iat + this.ttlSeconds,
      jti: randomBytes(12).toString('base64url'),
      ...(c.sid !== undefined ? { sid: c.sid } : {}),
    };
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT', kid: this.signing.kid })
      .sign(this.signing.key);
    return { token, expiresIn: this.ttlSeconds, claims };
  }

  /** Verifies signature, header, issuer, audience, expiry and role. Throws AuthError UNAUTHENTICATED. */
  async verify(token: string, audience: AccessClaims['aud'], now = Date.now()): Promise<AccessClaims> {
    const bad = (why: string) => new AuthError('UNAUTHENTICATED', `invalid access token: ${why}`);
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw bad('malformed');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.keyFor(header), {
        algorithms: [ALGORITHM],
        typ: 'JWT',
        issuer: ISSUER,
        audience,
        currentDate: new Date(now),
        requiredClaims: ['exp', 'iat', 'jti'],
      }));
    } catch (err) {
      throw bad(reason(err));
    }
    const claims = payload as unknown as AccessClaims;
    if (typeof claims.tid !== 'string' || typeof claims.sub !== 'string' || typeof claims.role !== 'string')
      throw bad('malformed');
    if (
      audience === INTERNAL_AUDIENCE
        ? claims.role !== 'service'
        : claims.role !== 'key_admin' && claims.role !== 'auditor'
    )
      throw bad('wrong role for this API');
    return claims;
  }

  private keyFor(header: JWTHeaderParameters): KeyObject {
    const key = header.kid === undefined ? this.unnamed : this.verifying.get(header.kid);
    // An unknown key id is a key that was removed (its tokens are over) or never existed.
    if (!key) throw new KeyholdTokenError('unknown signing key');
    return key;
  }
}

class KeyholdTokenError extends Error {}

/** A short, fixed reason for each way a token fails (never the token or the library's message verbatim). */
function reason(err: unknown): string {
  if (err instanceof KeyholdTokenError) return err.message;
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'wrong audience';
    if (err.claim === 'iss') return 'wrong issuer';
    return 'malformed';
  }
  return 'malformed';
}

/** `Authorization: Bearer <token>` → token, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header.trim());
  return m?.[1];
}
