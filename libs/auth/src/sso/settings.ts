import { hkdfSync } from 'node:crypto';

/** SSO settings, read from the environment at boot (KEYHOLD_SSO_*); a bad value stops the process naming the variable. */
export interface SsoSettings {
  /** Seals IdP client secrets at rest; null = SSO unavailable (production without KEYHOLD_SSO_SECRET_KEY). */
  readonly secretKey: Buffer | null;
  /**
   * Dev/test only: issuers on loopback (http://127.0.0.1:…, http://localhost:…) are accepted so a local IdP can be
   * used. Private, link-local and metadata addresses stay refused even then. Refused in production mode.
   */
  readonly allowLoopbackIssuers: boolean;
  /** How long a started sign-in (state, nonce, PKCE verifier) may take to come back. */
  readonly loginTtlSeconds: number;
}

export function loadSsoSettings(
  env: Readonly<Record<string, string | undefined>>,
  mode: 'local' | 'production' | 'test',
  tokenSecret: string,
): SsoSettings {
  const raw = env.KEYHOLD_SSO_SECRET_KEY?.trim();
  let secretKey: Buffer | null = null;
  if (raw) {
    const k = Buffer.from(raw, 'base64');
    if (k.length !== 32)
      throw new Error('invalid configuration: KEYHOLD_SSO_SECRET_KEY must be base64 of exactly 32 random bytes');
    secretKey = k;
  } else if (mode !== 'production') {
    // Local and test runs only: a key derived from the token signing key (a separate HKDF label), so a developer's
    // restarts keep opening stored secrets. Production needs its own key, or SSO stays off.
    secretKey = Buffer.from(
      hkdfSync('sha256', Buffer.from(tokenSecret, 'utf8'), Buffer.alloc(0), 'keyhold/sso-secret-key/v1', 32),
    );
  }
  const loopback = env.KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS?.trim();
  if (loopback && loopback !== '0' && loopback !== '1')
    throw new Error('invalid configuration: KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS must be 0 or 1');
  if (loopback === '1' && mode === 'production')
    throw new Error('invalid configuration: KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS=1 is for local and test modes only');
  const ttl = Number(env.KEYHOLD_SSO_LOGIN_TTL_SECONDS ?? 600);
  if (!Number.isInteger(ttl) || ttl < 60 || ttl > 3600)
    throw new Error('invalid configuration: KEYHOLD_SSO_LOGIN_TTL_SECONDS must be an integer between 60 and 3600');
  return { secretKey, allowLoopbackIssuers: loopback === '1', loginTtlSeconds: ttl };
}
