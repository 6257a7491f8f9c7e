import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { buildConfig, ConfigError, loadConfig, secretEnv } from './config';

const signingKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const secrets = {
  KEYHOLD_OPERATOR_TOKEN: 'o'.repeat(40),
  KEYHOLD_TOKEN_SECRET: 's'.repeat(40),
  KEYHOLD_AUDIT_HMAC_KEY: randomBytes(32).toString('base64'),
  KEYHOLD_AUDIT_SIGNING_KEY: signingKey,
  KEYHOLD_MFA_SECRET_KEY: randomBytes(32).toString('base64'),
};

describe('config', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({ ...secrets });
    expect(c).toMatchObject({
      mode: 'production',
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/keyhold',
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'keyhold',
      tokenTtlSeconds: 900,
      kekCache: { ttlSeconds: 300, maxEntries: 10000 },
      probe: { intervalSeconds: 60, confirmationWindowSeconds: 180, confirmations: 3 },
    });
  });

  it('token keys and operator tokens: sets win over single values; the single forms keep working', () => {
    const single = loadConfig({ ...secrets });
    expect(single.tokenKeys).toEqual([{ kid: expect.stringMatching(/^s-/), secret: 's'.repeat(40) }]);
    expect(single.operatorTokens.map((t) => [t.name, t.expiresAt])).toEqual([['default', null]]);
    const { KEYHOLD_OPERATOR_TOKEN: _o, KEYHOLD_TOKEN_SECRET: _t, ...rest } = secrets;
    const sets = loadConfig({
      ...rest,
      KEYHOLD_TOKEN_KEYS: `k2=${'2'.repeat(32)},k1=${'1'.repeat(32)}`,
      KEYHOLD_OPERATOR_TOKENS: `alice=sha256:${'ab'.repeat(32)}@2027-03-01T00:00:00Z`,
    });
    expect(sets.tokenKeys.map((k) => k.kid)).toEqual(['k2', 'k1']);
    expect(sets.operatorTokens).toEqual([
      { name: 'alice', sha256: Buffer.from('ab'.repeat(32), 'hex'), expiresAt: new Date('2027-03-01T00:00:00Z') },
    ]);
    // the configuration a child process needs round-trips (operator tokens travel as hashes only)
    const again = loadConfig({ ...rest, ...secretEnv(single) });
    expect(again.tokenKeys).toEqual(single.tokenKeys);
    expect(again.operatorTokens).toEqual(single.operatorTokens);
    expect(JSON.stringify(secretEnv(single))).not.toContain('o'.repeat(40));
  });

  it('secrets have no defaults outside local mode, and errors name the variable', () => {
    expect(() => loadConfig({})).toThrow(
      /KEYHOLD_OPERATOR_TOKEN \(or KEYHOLD_OPERATOR_TOKENS\) is required.*KEYHOLD_TOKEN_SECRET \(or KEYHOLD_TOKEN_KEYS\) is required/,
    );
    expect(() => loadConfig({ ...secrets, PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ ...secrets, KEYHOLD_TOKEN_SECRET: 'short' })).toThrow(
      /KEYHOLD_TOKEN_SECRET must be at least 32/,
    );
    expect(() => loadConfig({ ...secrets, REDIS_URL: 'http://x' })).toThrow(ConfigError);
    const { KEYHOLD_MFA_SECRET_KEY: _m, ...noMfa } = secrets;
    expect(() => loadConfig(noMfa)).toThrow(/KEYHOLD_MFA_SECRET_KEY is required in production/);
    expect(() => loadConfig({ ...secrets, KEYHOLD_TOKEN_KEYS: 'k1=short' })).toThrow(
      /KEYHOLD_TOKEN_KEYS the secret of key "k1" must be at least 32/,
    );
    expect(() => loadConfig({ ...secrets, KEYHOLD_OPERATOR_TOKENS: 'alice=plaintext' })).toThrow(
      /KEYHOLD_OPERATOR_TOKENS each entry must be/,
    );
    const { KEYHOLD_AUDIT_HMAC_KEY: _h, KEYHOLD_AUDIT_SIGNING_KEY: _s, ...noAudit } = secrets;
    expect(() => loadConfig(noAudit)).toThrow(
      /KEYHOLD_AUDIT_HMAC_KEY is required.*KEYHOLD_AUDIT_SIGNING_KEY is required/,
    );
    expect(() => loadConfig({ ...secrets, KEYHOLD_AUDIT_HMAC_KEY: 'c2hvcnQ=' })).toThrow(
      /KEYHOLD_AUDIT_HMAC_KEY must be base64 of at least 32/,
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(() => loadConfig({ ...secrets, KEYHOLD_AUDIT_SIGNING_KEY: rsa })).toThrow(
      /KEYHOLD_AUDIT_SIGNING_KEY must be an Ed25519 private key/,
    );
    expect(() => loadConfig({ ...secrets, KEYHOLD_AUDIT_CHECKPOINT_INTERVAL_SECONDS: '300' })).toThrow(
      /KEYHOLD_AUDIT_CHECKPOINT_INTERVAL_SECONDS/,
    );
  });

  it('DEK creation limits: defaults, and a wrap hard cap below the rotation threshold is refused', () => {
    const c = loadConfig({ ...secrets });
    expect(c.kekRotation).toMatchObject({ maxWraps: 2 ** 30, wrapHardCap: 2 ** 31 });
    expect(c.dek).toMatchObject({ quotaPerWorkspace: 10_000_000, createRatePerMinute: 60_000 });
    const d = loadConfig({
      ...secrets,
      KEYHOLD_DEK_QUOTA_PER_WORKSPACE: '500',
      KEYHOLD_DEK_CREATE_RATE_PER_MINUTE: '90',
      KEYHOLD_KEK_WRAP_HARD_CAP: '2000',
      KEYHOLD_KEK_MAX_WRAPS: '1000',
    });
    expect(d.dek).toMatchObject({ quotaPerWorkspace: 500, createRatePerMinute: 90 });
    expect(d.kekRotation).toMatchObject({ maxWraps: 1000, wrapHardCap: 2000 });
    expect(() => loadConfig({ ...secrets, KEYHOLD_KEK_WRAP_HARD_CAP: '100', KEYHOLD_KEK_MAX_WRAPS: '1000' })).toThrow(
      /KEYHOLD_KEK_WRAP_HARD_CAP must be at least KEYHOLD_KEK_MAX_WRAPS/,
    );
    expect(() => loadConfig({ ...secrets, KEYHOLD_KEK_WRAP_HARD_CAP: String(2 ** 33) })).toThrow(
      /KEYHOLD_KEK_WRAP_HARD_CAP/,
    );
  });

  it('reads the credential settings: trusted proxies, public URL, link lifetimes, mail webhook', () => {
    const c = loadConfig({
      ...secrets,
      KEYHOLD_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.7',
      KEYHOLD_PUBLIC_URL: 'https://keys.example.com',
      KEYHOLD_INVITATION_TTL_SECONDS: '3600',
      KEYHOLD_MAIL_WEBHOOK_URL: 'https://relay.internal/mail',
    });
    expect(c.trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.7']);
    expect(c.publicUrl).toBe('https://keys.example.com');
    expect(c.credentials).toEqual({ invitationTtlSeconds: 3600, passwordResetTtlSeconds: 3600 });
    expect(c.mailWebhookUrl).toBe('https://relay.internal/mail');
    expect(loadConfig({ ...secrets }).credentials.invitationTtlSeconds).toBe(72 * 3600);
    expect(() => loadConfig({ ...secrets, KEYHOLD_TRUSTED_PROXIES: 'lb.example.com' })).toThrow(
      /KEYHOLD_TRUSTED_PROXIES/,
    );
    expect(() => loadConfig({ ...secrets, KEYHOLD_PUBLIC_URL: 'keys.example.com/' })).toThrow(/KEYHOLD_PUBLIC_URL/);
  });

  it('is constructible from an object (tests start the app in-process)', () => {
    const c = buildConfig({
      port: 0,
      operatorToken: 'o'.repeat(32),
      tokenSecret: 't'.repeat(32),
      auditHmacKey: secrets.KEYHOLD_AUDIT_HMAC_KEY,
      auditSigningKey: signingKey,
      mfaSecretKey: secrets.KEYHOLD_MFA_SECRET_KEY,
      redisPrefix: 'kh-test-1',
      providerEnv: { A: 'b' },
    });
    expect(c.port).toBe(0);
    expect(c.providerEnv.A).toBe('b');
    expect(Object.isFrozen(c)).toBe(true);
    // test mode: audit keys derived from the (shared) test database unless given
    const t = buildConfig({ mode: 'test', operatorToken: 'o'.repeat(32), tokenSecret: 't'.repeat(32) });
    expect(Buffer.from(t.audit.hmacKey, 'base64').length).toBe(32);
    expect(buildConfig({ mode: 'test', operatorToken: 'o'.repeat(32), tokenSecret: 't'.repeat(32) }).audit).toEqual(
      t.audit,
    );
  });

  it('derives the WebAuthn relying party from the public URL and refuses origins a browser would refuse, at boot', () => {
    expect(loadConfig({ ...secrets }).mfa).toMatchObject({
      rpId: 'localhost',
      origins: ['http://localhost:3000'],
      rpName: 'Keyhold',
      freshAuthSeconds: 300,
    });
    expect(loadConfig({ ...secrets, KEYHOLD_PUBLIC_URL: 'https://console.example.com' }).mfa).toMatchObject({
      rpId: 'console.example.com',
      origins: ['https://console.example.com'],
    });
    const c = loadConfig({
      ...secrets,
      KEYHOLD_WEBAUTHN_RP_ID: 'example.com',
      KEYHOLD_WEBAUTHN_ORIGINS: 'https://console.example.com, https://example.com',
    });
    expect(c.mfa.origins).toEqual(['https://console.example.com', 'https://example.com']);
    expect(() => loadConfig({ ...secrets, KEYHOLD_WEBAUTHN_RP_ID: '10.0.0.1' })).toThrow(/KEYHOLD_WEBAUTHN_RP_ID/);
    expect(() =>
      loadConfig({
        ...secrets,
        KEYHOLD_WEBAUTHN_RP_ID: 'example.com',
        KEYHOLD_WEBAUTHN_ORIGINS: 'https://example.org',
      }),
    ).toThrow(/not on KEYHOLD_WEBAUTHN_RP_ID/);
    expect(() =>
      loadConfig({ ...secrets, KEYHOLD_WEBAUTHN_RP_ID: 'example.com', KEYHOLD_WEBAUTHN_ORIGINS: 'http://example.com' }),
    ).toThrow(/must use https/);
    expect(() =>
      loadConfig({
        ...secrets,
        KEYHOLD_WEBAUTHN_RP_ID: 'example.com',
        KEYHOLD_WEBAUTHN_ORIGINS: 'https://example.com/console',
      }),
    ).toThrow(/bare origins/);
    expect(() => loadConfig({ ...secrets, KEYHOLD_MFA_SECRET_KEY: 'c2hvcnQ=' })).toThrow(/KEYHOLD_MFA_SECRET_KEY/);
    expect(
      loadConfig({ ...secrets, KEYHOLD_MFA_SECRET_KEY: randomBytes(32).toString('base64') }).mfa.secretKey,
    ).toHaveLength(32);
  });
});
