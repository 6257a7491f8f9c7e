import { randomBytes } from 'node:crypto';
import { SsoError } from './errors';
import { emailFromClaims, roleFromClaims } from './identity';
import { parseIssuerUrl } from './issuer-url';
import { addressAllowed, guardedLookup } from './outbound';
import { SecretBox } from './secret-box';
import { loadSsoSettings } from './settings';

const strict = { allowLoopback: false };
const dev = { allowLoopback: true };
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof SsoError ? e.code : `not an SsoError: ${String(e)}`;
  }
  return 'accepted';
};

describe('parseIssuerUrl', () => {
  it('accepts https issuers and canonicalises one trailing slash', () => {
    expect(parseIssuerUrl('https://login.example.com/realms/acme/', strict)).toBe(
      'https://login.example.com/realms/acme',
    );
    expect(parseIssuerUrl('https://acme.okta.com', strict)).toBe('https://acme.okta.com');
  });

  it.each([
    'http://login.example.com',
    'https://127.0.0.1',
    'https://localhost',
    'https://[::1]',
    'https://169.254.169.254/latest',
    'https://10.1.2.3',
    'https://[fd00::1]',
    'https://[::ffff:127.0.0.1]',
    'https://user:pw@login.example.com',
    'https://login.example.com?x=1',
    'https://login.example.com#f',
    'https://login.example.com\\@evil',
    'https://login.example.com./',
    'ftp://login.example.com',
    'https://lоgin.example.com',
    '',
    `https://${'a'.repeat(600)}.com`,
  ])('refuses %s', (u) => {
    expect(code(() => parseIssuerUrl(u, strict))).toBe('SSO_ISSUER_REJECTED');
  });

  it('allows loopback over http only when configured (dev/test), never private or metadata ranges', () => {
    expect(parseIssuerUrl('http://127.0.0.1:4000', dev)).toBe('http://127.0.0.1:4000');
    expect(parseIssuerUrl('http://localhost:4000/', dev)).toBe('http://localhost:4000');
    expect(code(() => parseIssuerUrl('http://10.0.0.1:4000', dev))).toBe('SSO_ISSUER_REJECTED');
    expect(code(() => parseIssuerUrl('http://169.254.169.254', dev))).toBe('SSO_ISSUER_REJECTED');
    expect(code(() => parseIssuerUrl('http://example.com', dev))).toBe('SSO_ISSUER_REJECTED');
  });
});

describe('connect-time address guard', () => {
  it('refuses internal addresses whatever the name; loopback only when allowed', () => {
    for (const a of [
      '127.0.0.1',
      '10.0.0.5',
      '172.16.0.1',
      '192.168.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '::1',
      'fd12::1',
      'fe80::1',
      '0.0.0.0',
    ])
      expect([a, addressAllowed(a, strict)]).toEqual([a, false]);
    expect(addressAllowed('93.184.216.34', strict)).toBe(true);
    expect(addressAllowed('127.0.0.1', dev)).toBe(true);
    expect(addressAllowed('::1', dev)).toBe(true);
    expect(addressAllowed('10.0.0.5', dev)).toBe(false);
    expect(addressAllowed('169.254.169.254', dev)).toBe(false);
  });

  it('fails a lookup of a name that resolves to loopback', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guardedLookup(strict)('localhost', {}, (e: NodeJS.ErrnoException | null) => resolve(e)),
    );
    expect(err?.code).toBe('EKEYHOLD_BLOCKED_ADDRESS');
    const ok = await new Promise<string | undefined>((resolve) =>
      guardedLookup(dev)('localhost', { family: 4 }, (_e: unknown, address?: string) => resolve(address)),
    );
    expect(ok).toBe('127.0.0.1');
  });
});

describe('claims → email and role', () => {
  const domains = ['acme.com'];
  it('takes the email only from an allowed domain, exactly', () => {
    expect(emailFromClaims({ email: 'Alice@ACME.com' }, domains)).toBe('alice@acme.com');
    expect(code(() => emailFromClaims({ email: 'a@evil.acme.com' }, domains))).toBe('SSO_EMAIL_DOMAIN_NOT_ALLOWED');
    expect(code(() => emailFromClaims({ email: 'a@acme.com.evil.net' }, domains))).toBe('SSO_EMAIL_DOMAIN_NOT_ALLOWED');
    expect(code(() => emailFromClaims({ email: 'a@evil.net@acme.com' }, domains))).toBe('SSO_EMAIL_MISSING');
    expect(code(() => emailFromClaims({ email: 'acme.com' }, domains))).toBe('SSO_EMAIL_MISSING');
    expect(code(() => emailFromClaims({}, domains))).toBe('SSO_EMAIL_MISSING');
    expect(code(() => emailFromClaims({ email: 'a@acme.com', email_verified: false }, domains))).toBe(
      'SSO_EMAIL_MISSING',
    );
  });

  it('maps groups to the strongest role, and refuses when nothing maps', () => {
    const m = [
      { group: 'kh-admins', role: 'key_admin' as const },
      { group: 'kh-audit', role: 'auditor' as const },
    ];
    expect(roleFromClaims({ groups: ['kh-audit', 'kh-admins'] }, 'groups', m)).toBe('key_admin');
    expect(roleFromClaims({ groups: ['kh-audit'] }, 'groups', m)).toBe('auditor');
    expect(roleFromClaims({ roles: 'kh-audit' }, 'roles', m)).toBe('auditor');
    expect(code(() => roleFromClaims({ groups: ['KH-ADMINS'] }, 'groups', m))).toBe('SSO_NO_ROLE_MAPPING');
    expect(code(() => roleFromClaims({ groups: { 'kh-admins': true } }, 'groups', m))).toBe('SSO_NO_ROLE_MAPPING');
    expect(code(() => roleFromClaims({}, 'groups', m))).toBe('SSO_NO_ROLE_MAPPING');
  });
});

describe('SecretBox', () => {
  it('seals the client secret so only this tenant under this key opens it', () => {
    const key = randomBytes(32);
    const box = new SecretBox(key);
    const sealed = box.seal('tenant-a', 'the-client-secret');
    expect(sealed.includes(Buffer.from('the-client-secret'))).toBe(false);
    expect(box.open('tenant-a', sealed)).toBe('the-client-secret');
    expect(() => box.open('tenant-b', sealed)).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open('tenant-a', sealed)).toThrow();
    const flipped = Buffer.from(sealed);
    flipped[20] ^= 1;
    expect(() => box.open('tenant-a', flipped)).toThrow();
  });
});

describe('loadSsoSettings', () => {
  const secret = 'x'.repeat(48);
  it('needs its own key in production (SSO off without one); derives one elsewhere', () => {
    expect(loadSsoSettings({}, 'production', secret).secretKey).toBeNull();
    expect(loadSsoSettings({}, 'test', secret).secretKey).toHaveLength(32);
    expect(loadSsoSettings({}, 'test', secret).secretKey).toEqual(loadSsoSettings({}, 'local', secret).secretKey);
    const key = randomBytes(32);
    expect(loadSsoSettings({ KEYHOLD_SSO_SECRET_KEY: key.toString('base64') }, 'production', secret).secretKey).toEqual(
      key,
    );
    expect(() =>
      loadSsoSettings({ KEYHOLD_SSO_SECRET_KEY: randomBytes(16).toString('base64') }, 'production', secret),
    ).toThrow(/KEYHOLD_SSO_SECRET_KEY/);
  });

  it('refuses loopback issuers in production mode', () => {
    expect(() => loadSsoSettings({ KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS: '1' }, 'production', secret)).toThrow(
      /KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS/,
    );
    expect(loadSsoSettings({ KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS: '1' }, 'test', secret).allowLoopbackIssuers).toBe(
      true,
    );
    expect(() => loadSsoSettings({ KEYHOLD_SSO_ALLOW_LOOPBACK_ISSUERS: 'yes' }, 'test', secret)).toThrow();
    expect(() => loadSsoSettings({ KEYHOLD_SSO_LOGIN_TTL_SECONDS: '5' }, 'test', secret)).toThrow(
      /KEYHOLD_SSO_LOGIN_TTL_SECONDS/,
    );
  });
});
