import { TokenSigner, INTERNAL_AUDIENCE } from './tokens';
import { VerifiedTokenCache } from './verified-token-cache';

/**
 * The per-connection memo of the internal listener's token check answers exactly what the header map answers:
 * only a header verified before, the same claims, never past expiry, and nothing a dropSubject removed.
 */
describe('VerifiedTokenCache.cachedHeaderOn', () => {
  const signer = new TokenSigner('x'.repeat(40), 900);
  const header = async (sub: string, now = Date.now()) =>
    `Bearer ${(await signer.sign({ tid: 't', sub, role: 'service', sid: 's' }, now)).token}`;

  it('answers only for headers verified before, with their own claims, per connection', async () => {
    const cache = new VerifiedTokenCache(signer, INTERNAL_AUDIENCE);
    const a = await header('a');
    const b = await header('b');
    const conn = {};
    expect(cache.cachedHeaderOn(conn, a)).toBeUndefined();
    await cache.verifyHeader(a);
    expect(cache.cachedHeaderOn(conn, a)?.sub).toBe('a');
    // a fresh copy of the same value hits the memo; another header on the same connection is looked up afresh
    expect(cache.cachedHeaderOn(conn, `${a} `.trimEnd())?.sub).toBe('a');
    expect(cache.cachedHeaderOn(conn, b)).toBeUndefined();
    await cache.verifyHeader(b);
    expect(cache.cachedHeaderOn(conn, b)?.sub).toBe('b');
    expect(cache.cachedHeaderOn(conn, a)?.sub).toBe('a');
    expect(cache.cachedHeaderOn(conn, `${a}x`)).toBeUndefined();
    expect(cache.cachedHeaderOn(conn, undefined)).toBeUndefined();
    expect(cache.cachedHeaderOn(conn, [a])).toBeUndefined();
  });

  it('a dropped subject is not answered from any connection memo', async () => {
    const cache = new VerifiedTokenCache(signer, INTERNAL_AUDIENCE);
    const a = await header('a');
    await cache.verifyHeader(a);
    const conns = [{}, {}];
    for (const c of conns) expect(cache.cachedHeaderOn(c, a)?.sub).toBe('a');
    cache.dropSubject('a');
    for (const c of conns) expect(cache.cachedHeaderOn(c, a)).toBeUndefined();
  });

  it('an expired token is not answered from the memo', async () => {
    const cache = new VerifiedTokenCache(signer, INTERNAL_AUDIENCE);
    const now = Date.now();
    const a = await header('a', now - 899_000); // one second of life left
    await cache.verifyHeader(a);
    const conn = {};
    expect(cache.cachedHeaderOn(conn, a)?.sub).toBe('a');
    const realNow = Date.now;
    Date.now = () => realNow() + 2_000;
    try {
      expect(cache.cachedHeaderOn(conn, a)).toBeUndefined();
    } finally {
      Date.now = realNow;
    }
  });
});
