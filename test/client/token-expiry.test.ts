import { startStack, TestStack } from '../support/stack';
import { cleanRedis, serviceTenant } from './fixture';

/**
 * Token lifetimes against a real API issuing 5-second tokens: the client renews ahead of expiry (no request
 * ever meets an expired token), and when the server does refuse a token the client believes valid (its clock
 * jumped), one re-authentication recovers.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ config: { tokenTtlSeconds: 5, tokenRatePerPrincipalPerMinute: 1000 } });
});
afterAll(async () => {
  await stack?.close();
  if (stack) await cleanRedis(stack);
});

it('renews the token ahead of expiry while requests keep flowing; single flight under concurrency', async () => {
  const t = await serviceTenant(stack);
  const c = t.client({ events: false, cache: { ttlMs: 200 } });
  try {
    const until = Date.now() + 11_500;
    let ops = 0;
    while (Date.now() < until) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => c.encrypt({ workspaceId: t.wsId, segmentId: `s${i}`, plaintext: 'x' })),
      );
      ops += 10;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ops).toBeGreaterThan(100);
    // 11.5 s of 5 s tokens (4 s usable, renewed 0.8 s early): 4 tokens, never a 401 on the way
    expect(c.stats.tokenFetches).toBeGreaterThanOrEqual(4);
    expect(c.stats.tokenFetches).toBeLessThanOrEqual(5);
    expect(c.stats.reauthentications).toBe(0);
  } finally {
    await c.close();
  }
}, 30_000);

it('a token the server refuses (the client clock jumped back) costs one re-authentication, then works', async () => {
  const t = await serviceTenant(stack);
  let skew = 0;
  const c = t.client({ events: false, cache: { ttlMs: 1 }, now: () => Date.now() - skew });
  try {
    await c.encrypt({ workspaceId: t.wsId, segmentId: 'a', plaintext: 'x' });
    skew = 60_000; // the client now thinks its token has a minute more to live than it has
    await new Promise((r) => setTimeout(r, 5_500));
    const blob = await c.encrypt({ workspaceId: t.wsId, segmentId: 'a', plaintext: 'x' });
    expect(await c.decrypt(blob)).toEqual(Buffer.from('x'));
    expect(c.stats.reauthentications).toBe(1);
    expect(c.stats.tokenFetches).toBe(2);
  } finally {
    await c.close();
  }
}, 30_000);
