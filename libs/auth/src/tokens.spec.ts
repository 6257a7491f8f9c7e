import { AuthError } from './errors';
import { hashSecret, verifySecret } from './passwords';
import { ADMIN_AUDIENCE, INTERNAL_AUDIENCE, operatorTokenMatches, TokenSigner } from './tokens';

const secret = 'x'.repeat(40);

describe('access tokens (HS256)', () => {
  const signer = new TokenSigner(secret, 900);

  it('round-trips claims for the right audience', () => {
    const { token, claims } = signer.sign({ tid: 't1', sub: 'u1', role: 'key_admin' });
    expect(claims.aud).toBe(ADMIN_AUDIENCE);
    expect(signer.verify(token, ADMIN_AUDIENCE)).toMatchObject({ tid: 't1', sub: 'u1', role: 'key_admin', exp: claims.iat + 900 });
  });

  it('keeps the two APIs apart by audience', () => {
    const admin = signer.sign({ tid: 't', sub: 'u', role: 'key_admin' }).token;
    const service = signer.sign({ tid: 't', sub: 's', role: 'service' }).token;
    expect(() => signer.verify(admin, INTERNAL_AUDIENCE)).toThrow('wrong audience');
    expect(() => signer.verify(service, ADMIN_AUDIENCE)).toThrow('wrong audience');
  });

  it('refuses expired tokens, tampered payloads and other keys', () => {
    const t = signer.sign({ tid: 't', sub: 'u', role: 'auditor' }, Date.now() - 901_000).token;
    expect(() => signer.verify(t, ADMIN_AUDIENCE)).toThrow('expired');
    const good = signer.sign({ tid: 't', sub: 'u', role: 'auditor' }).token;
    const [h, p, s] = good.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), tid: 'other' })).toString('base64url');
    expect(() => signer.verify(`${h}.${forged}.${s}`, ADMIN_AUDIENCE)).toThrow(AuthError);
    expect(() => new TokenSigner('y'.repeat(40), 900).verify(good, ADMIN_AUDIENCE)).toThrow('bad signature');
    expect(() => signer.verify(`eyJhbGciOiJub25lIn0.${p}.`, ADMIN_AUDIENCE)).toThrow('malformed');
  });

  it('rejects short secrets', () => {
    expect(() => new TokenSigner('short', 900)).toThrow('at least 32');
  });
});

describe('secrets', () => {
  it('scrypt hashes verify only the right secret and carry their parameters', async () => {
    const h = await hashSecret('correct horse', { N: 1024 });
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifySecret('correct horse', h)).toBe(true);
    expect(await verifySecret('wrong horse', h)).toBe(false);
    expect(await verifySecret('x', 'garbage')).toBe(false);
  });

  it('operator token comparison', () => {
    expect(operatorTokenMatches('a'.repeat(40), 'a'.repeat(40))).toBe(true);
    expect(operatorTokenMatches('a'.repeat(39), 'a'.repeat(40))).toBe(false);
    expect(operatorTokenMatches(undefined, 'a'.repeat(40))).toBe(false);
  });
});
