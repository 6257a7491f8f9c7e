import { buildConfig, ConfigError, loadConfig } from './config';

const secrets = { KEYHOLD_OPERATOR_TOKEN: 'o'.repeat(40), KEYHOLD_TOKEN_SECRET: 's'.repeat(40) };

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

  it('secrets have no defaults outside local mode, and errors name the variable', () => {
    expect(() => loadConfig({})).toThrow(/KEYHOLD_OPERATOR_TOKEN is required.*KEYHOLD_TOKEN_SECRET is required/);
    expect(() => loadConfig({ ...secrets, PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ ...secrets, KEYHOLD_TOKEN_SECRET: 'short' })).toThrow(/KEYHOLD_TOKEN_SECRET must be at least 32/);
    expect(() => loadConfig({ ...secrets, REDIS_URL: 'http://x' })).toThrow(ConfigError);
  });

  it('reads the credential settings: trusted proxies, public URL, link lifetimes, mail webhook', () => {
    const c = loadConfig({ ...secrets, KEYHOLD_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.7', KEYHOLD_PUBLIC_URL: 'https://keys.example.com', KEYHOLD_INVITATION_TTL_SECONDS: '3600', KEYHOLD_MAIL_WEBHOOK_URL: 'https://relay.internal/mail' });
    expect(c.trustedProxies).toEqual(['10.0.0.0/8', '192.168.1.7']);
    expect(c.publicUrl).toBe('https://keys.example.com');
    expect(c.credentials).toEqual({ invitationTtlSeconds: 3600, passwordResetTtlSeconds: 3600 });
    expect(c.mailWebhookUrl).toBe('https://relay.internal/mail');
    expect(loadConfig({ ...secrets }).credentials.invitationTtlSeconds).toBe(72 * 3600);
    expect(() => loadConfig({ ...secrets, KEYHOLD_TRUSTED_PROXIES: 'lb.example.com' })).toThrow(/KEYHOLD_TRUSTED_PROXIES/);
    expect(() => loadConfig({ ...secrets, KEYHOLD_PUBLIC_URL: 'keys.example.com/' })).toThrow(/KEYHOLD_PUBLIC_URL/);
  });

  it('is constructible from an object (tests start the app in-process)', () => {
    const c = buildConfig({ port: 0, operatorToken: 'o'.repeat(32), tokenSecret: 't'.repeat(32), redisPrefix: 'kh-test-1', providerEnv: { A: 'b' } });
    expect(c.port).toBe(0);
    expect(c.providerEnv.A).toBe('b');
    expect(Object.isFrozen(c)).toBe(true);
  });
});
