import { createHmac } from 'node:crypto';
import { AuthError } from './errors';
import { hashSecret, verifySecret } from './passwords';
import { ADMIN_AUDIENCE, INTERNAL_AUDIENCE, TokenSigner } from './tokens';

const secret = 'x'.repeat(40);

describe('access tokens (HS256 with jose)', () => {
  const signer = new TokenSigner(secret, 900);

  it('round-trips claims for the right audience', async () => {
    const { token, claims } = await signer.sign({ tid: 't1', sub: 'u1', role: 'key_admin' });
    expect(claims.aud).toBe(ADMIN_AUDIENCE);
    expect(await signer.verify(token, ADMIN_AUDIENCE)).toMatchObject({
      tid: 't1',
      sub: 'u1',
      role: 'key_admin',
      exp: claims.iat + 900,
    });
  });

  it('keeps the two APIs apart by audience', async () => {
    const admin = (await signer.sign({ tid: 't', sub: 'u', role: 'key_admin' })).token;
    const service = (await signer.sign({ tid: 't', sub: 's', role: 'service' })).token;
    await expect(signer.verify(admin, INTERNAL_AUDIENCE)).rejects.toThrow('wrong audience');
    await expect(signer.verify(service, ADMIN_AUDIENCE)).rejects.toThrow('wrong audience');
  });

  it('refuses expired tokens, tampered payloads, other keys and unsigned tokens', async () => {
    const t = (await signer.sign({ tid: 't', sub: 'u', role: 'auditor' }, Date.now() - 901_000)).token;
    await expect(signer.verify(t, ADMIN_AUDIENCE)).rejects.toThrow('expired');
    const good = (await signer.sign({ tid: 't', sub: 'u', role: 'auditor' })).token;
    const [h, p, s] = good.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), tid: 'other' }),
    ).toString('base64url');
    await expect(signer.verify(`${h}.${forged}.${s}`, ADMIN_AUDIENCE)).rejects.toThrow(AuthError);
    // same key id, other secret: the signature is what decides
    const impostor = new TokenSigner(
      [{ kid: JSON.parse(Buffer.from(h, 'base64url').toString()).kid, secret: 'y'.repeat(40) }],
      900,
    );
    await expect(impostor.verify(good, ADMIN_AUDIENCE)).rejects.toThrow('bad signature');
    await expect(signer.verify(`eyJhbGciOiJub25lIn0.${p}.`, ADMIN_AUDIENCE)).rejects.toThrow('malformed');
    const hs512 = Buffer.from(
      JSON.stringify({ alg: 'HS512', typ: 'JWT', kid: JSON.parse(Buffer.from(h, 'base64url').toString()).kid }),
    ).toString('base64url');
    await expect(signer.verify(`${hs512}.${p}.${s}`, ADMIN_AUDIENCE)).rejects.toThrow(AuthError);
  });

  it('rejects short secrets', () => {
    expect(() => new TokenSigner('short', 900)).toThrow('at least 32');
    expect(() => new TokenSigner([{ kid: 'a', secret: 'short' }], 900)).toThrow('at least 32');
  });
});

describe('signing key rotation', () => {
  const k1 = { kid: 'k1', secret: '1'.repeat(40) };
  const k2 = { kid: 'k2', secret: '2'.repeat(40) };

  it('names the signing key in the header; every key of the set verifies', async () => {
    const before = new TokenSigner([k1], 900);
    const adding = new TokenSigner([k1, k2], 900);
    const switched = new TokenSigner([k2, k1], 900);
    const old = (await before.sign({ tid: 't', sub: 'u', role: 'key_admin' })).token;
    const fresh = (await switched.sign({ tid: 't', sub: 'u', role: 'key_admin' })).token;
    expect(JSON.parse(Buffer.from(old.split('.')[0], 'base64url').toString())).toEqual({
      alg: 'HS256',
      typ: 'JWT',
      kid: 'k1',
    });
    expect(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid).toBe('k2');
    // step 1 (k2 added, not signing) verifies what step 2 signs; step 2 still verifies step 0's tokens
    await expect(adding.verify(fresh, ADMIN_AUDIENCE)).resolves.toMatchObject({ sub: 'u' });
    await expect(switched.verify(old, ADMIN_AUDIENCE)).resolves.toMatchObject({ sub: 'u' });
    // skipping step 1 is what fails: a replica that does not know k2 refuses its tokens
    await expect(before.verify(fresh, ADMIN_AUDIENCE)).rejects.toThrow('unknown signing key');
    // step 3: k1 removed, its tokens stop
    await expect(new TokenSigner([k2], 900).verify(old, ADMIN_AUDIENCE)).rejects.toThrow('unknown signing key');
  });

  it('a token without a key id opens only under the single-secret key it was issued with', async () => {
    const legacy = new TokenSigner(secret, 900);
    const token = (await legacy.sign({ tid: 't', sub: 'u', role: 'key_admin' })).token;
    const [, p, s] = token.split('.');
    const unnamed = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${p}.${s}`;
    // the signature covered the header with its kid, so stripping it breaks the signature: no downgrade
    await expect(legacy.verify(unnamed, ADMIN_AUDIENCE)).rejects.toThrow('bad signature');
    await expect(new TokenSigner([k1], 900).verify(unnamed, ADMIN_AUDIENCE)).rejects.toThrow('unknown signing key');
    // a token issued before tokens named their key (HS256 over a header without kid) still opens during an upgrade
    const before = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${p}`;
    const mac = createHmac('sha256', secret).update(before).digest('base64url');
    await expect(legacy.verify(`${before}.${mac}`, ADMIN_AUDIENCE)).resolves.toMatchObject({ sub: 'u' });
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
});
