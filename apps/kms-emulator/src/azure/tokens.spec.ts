import { TokenIssuer } from './tokens';

describe('TokenIssuer', () => {
  const issuer = new TokenIssuer(60);
  const now = 1_700_000_000;

  it('verifies its own tokens and returns the claims', () => {
    const { token, expiresIn } = issuer.issue('tenant', 'app', 'https://vault.localhost', now);
    expect(expiresIn).toBe(60);
    expect(issuer.verify(token, now + 59)).toEqual({
      ok: true,
      claims: { tid: 'tenant', appid: 'app', aud: 'https://vault.localhost', iat: now, exp: now + 60 },
    });
  });

  it('refuses an expired token as expired', () => {
    const { token } = issuer.issue('tenant', 'app', 'aud', now);
    expect(issuer.verify(token, now + 60)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses tokens of another issuer, altered claims and garbage as invalid', () => {
    const { token } = new TokenIssuer(60).issue('tenant', 'app', 'aud', now);
    expect(issuer.verify(token, now)).toEqual({ ok: false, reason: 'invalid' });
    const [h, , sig] = issuer.issue('tenant', 'app', 'aud', now).token.split('.');
    const altered = Buffer.from(
      JSON.stringify({ tid: 'tenant', appid: 'other', aud: 'aud', iat: now, exp: now + 60 }),
    ).toString('base64url');
    expect(issuer.verify(`${h}.${altered}.${sig}`, now)).toEqual({ ok: false, reason: 'invalid' });
    expect(issuer.verify('not-a-token', now)).toEqual({ ok: false, reason: 'invalid' });
  });
});
