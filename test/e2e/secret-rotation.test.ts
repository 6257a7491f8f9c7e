import { randomBytes } from 'node:crypto';
import { buildConfig, operatorTokenEntryLine } from '@app/config';
import { type ApiApp } from '../../apps/api/src/app';
import { startApi } from '../../stack';
import { awsBoundWorkspace, cleanRedisPrefix, HttpClient, startStack, type TestStack } from '../support/stack';

/**
 * Keyhold's own secrets rotate with no failed request: two API replicas behind a (simulated) load balancer serve DEK
 * fetches, admin reads and operator reads while the token signing key and the operator token are rotated by rolling
 * restarts, exactly as docs/OPERATIONS.md prescribes (add the new key everywhere, then sign with it everywhere, then
 * remove the old one once its tokens have expired). A negative control skips the first step and must see failures.
 */
jest.setTimeout(180_000);

const TOKEN_TTL_SECONDS = 6;
const key = (kid: string) => ({ kid, secret: randomBytes(32).toString('base64url') });
const keysText = (keys: Array<{ kid: string; secret: string }>) => keys.map((k) => `${k.kid}=${k.secret}`).join(',');
const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as { kid?: string }).kid;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Settings {
  tokenKeys: string;
  operatorTokens: string;
}

/** A pool of API replicas over one database and one Redis prefix; restarting one takes it out of rotation meanwhile. */
class Fleet {
  readonly replicas: Array<ApiApp | null> = [null, null];
  private next = 0;
  constructor(private readonly stack: TestStack) {}

  async start(i: number, s: Settings): Promise<void> {
    const c = this.stack.config;
    const config = buildConfig({
      mode: 'test',
      host: '127.0.0.1',
      port: 0,
      internalPort: 0,
      databaseUrl: c.databaseUrl,
      databasePoolSize: 4,
      redisUrl: c.redisUrl,
      redisPrefix: c.redisPrefix,
      tokenKeys: s.tokenKeys,
      operatorTokens: s.operatorTokens,
      tokenTtlSeconds: TOKEN_TTL_SECONDS,
      logLevel: 'silent',
      consoleDir: '/nonexistent',
      providerEnv: { ...c.providerEnv },
    });
    this.replicas[i] = await startApi(config);
  }

  /** Rolling restart of replica i: out of the pool, stopped, started with the new settings, back in. */
  async restart(i: number, s: Settings): Promise<void> {
    const old = this.replicas[i];
    this.replicas[i] = null;
    // connection draining: requests already sent to it finish before it stops
    await sleep(300);
    await old?.close();
    await this.start(i, s);
  }

  /** Round-robin over the replicas that are up (what a load balancer with health checks does). */
  pick(): HttpClient {
    for (let n = 0; n < this.replicas.length; n++) {
      const r = this.replicas[this.next++ % this.replicas.length];
      if (r) return new HttpClient(r.url, r.internalUrl);
    }
    throw new Error('no replica up');
  }

  all(): HttpClient[] {
    return this.replicas.filter((r): r is ApiApp => r !== null).map((r) => new HttpClient(r.url, r.internalUrl));
  }

  async close(): Promise<void> {
    for (const r of this.replicas) await r?.close();
  }
}

/**
 * Traffic of every kind of caller while `roll` runs: a service refreshing its token (client_credentials) and fetching
 * DEKs, a key admin refreshing (password grant) and reading, the operator reading platform status with whichever
 * operator token it currently holds. Every non-200 answer is a failure.
 */
async function underLoad(
  fleet: Fleet,
  who: Awaited<ReturnType<typeof identities>>,
  operator: { token: string },
  roll: () => Promise<void>,
) {
  const failures: string[] = [];
  let requests = 0;
  let running = true;
  const tokens = { svc: '', admin: '' };
  const refresh = async () => {
    const s = await fleet.pick().post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: who.clientId,
      client_secret: who.clientSecret,
    });
    const a = await fleet.pick().post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: who.tenantId,
      username: who.email,
      password: who.password,
    });
    if (s.status !== 200 || a.status !== 200) failures.push(`token endpoint ${s.status}/${a.status}`);
    else Object.assign(tokens, { svc: s.body.access_token, admin: a.body.access_token });
  };
  await refresh();
  const loops = [
    (async () => {
      while (running) {
        await sleep(1000);
        await refresh();
      }
    })(),
    ...[0, 1, 2].map(async (n) => {
      while (running) {
        const r = await fleet
          .pick()
          .get(`/internal/v1/workspaces/${who.wsId}/segments/seg-${n}-${requests % 5}/dek`, tokens.svc);
        requests++;
        if (r.status !== 200) failures.push(`dek ${r.status} ${r.text.slice(0, 120)}`);
      }
    }),
    (async () => {
      while (running) {
        const r = await fleet.pick().get(`${who.base}/workspaces`, tokens.admin);
        requests++;
        if (r.status !== 200) failures.push(`admin ${r.status} ${r.text.slice(0, 120)}`);
        const o = await fleet.pick().get('/v1/platform/vendor-canaries', operator.token);
        requests++;
        if (o.status !== 200) failures.push(`operator ${o.status} ${o.text.slice(0, 120)}`);
        await sleep(20);
      }
    })(),
  ];
  try {
    await roll();
  } finally {
    running = false;
    await Promise.all(loops);
  }
  return { failures, requests, tokens };
}

async function identities(stack: TestStack) {
  const w = await awsBoundWorkspace(stack);
  const sp = await stack.http.post(
    `${w.base}/service-principals`,
    { name: 'rotation-load', workspaceIds: [w.wsId] },
    w.token,
  );
  if (sp.status !== 201) throw new Error(`service principal: ${sp.status} ${sp.text}`);
  return {
    tenantId: w.tenant.id,
    base: w.base,
    wsId: w.wsId,
    email: w.email,
    password: w.password,
    clientId: sp.body.clientId as string,
    clientSecret: sp.body.clientSecret as string,
  };
}

describe("rotation of Keyhold's own secrets under load", () => {
  const k1 = key('k1');
  const k2 = key('k2');
  const opOld = { name: 'ops-2026', token: randomBytes(32).toString('base64url') };
  const opNew = { name: 'ops-2027', token: randomBytes(32).toString('base64url') };
  const far = new Date(Date.now() + 86_400_000);
  const ops = (...t: Array<{ name: string; token: string }>) =>
    t.map((o) => operatorTokenEntryLine(o.name, o.token, far)).join(',');
  let stack: TestStack;
  let who: Awaited<ReturnType<typeof identities>>;

  beforeAll(async () => {
    stack = await startStack({ config: { tokenKeys: keysText([k1]), tokenTtlSeconds: TOKEN_TTL_SECONDS } });
    who = await identities(stack);
  });
  afterAll(async () => {
    await cleanRedisPrefix(stack);
    await stack.close();
  });

  it('signing key and operator token rotate by rolling restarts with 0 failed requests', async () => {
    const fleet = new Fleet(stack);
    const operator = { token: opOld.token };
    try {
      const s0 = { tokenKeys: keysText([k1]), operatorTokens: ops(opOld) };
      await fleet.start(0, s0);
      await fleet.start(1, s0);
      const result = await underLoad(fleet, who, operator, async () => {
        await sleep(1500);
        // 1. the new key and token are added everywhere (k1 still signs)
        const s1 = { tokenKeys: keysText([k1, k2]), operatorTokens: ops(opOld, opNew) };
        await fleet.restart(0, s1);
        await sleep(700);
        await fleet.restart(1, s1);
        await sleep(700);
        // 2. every replica knows k2: it signs now; the operator switches to the new token
        operator.token = opNew.token;
        const s2 = { tokenKeys: keysText([k2, k1]), operatorTokens: ops(opOld, opNew) };
        await fleet.restart(0, s2);
        await sleep(700);
        await fleet.restart(1, s2);
        // 3. once the last k1 token has expired, k1 and the old operator token go
        await sleep((TOKEN_TTL_SECONDS + 1) * 1000);
        const s3 = { tokenKeys: keysText([k2]), operatorTokens: ops(opNew) };
        await fleet.restart(0, s3);
        await sleep(700);
        await fleet.restart(1, s3);
        await sleep(1500);
      });
      expect(result.failures).toEqual([]);
      expect(result.requests).toBeGreaterThan(200);
      expect(kidOf(result.tokens.svc)).toBe('k2');
      expect(kidOf(result.tokens.admin)).toBe('k2');

      // The old key and the old operator token are gone on every replica.
      const stale = (
        await stack.http.post('/v1/auth/token', {
          grant_type: 'client_credentials',
          client_id: who.clientId,
          client_secret: who.clientSecret,
        })
      ).body.access_token as string;
      expect(kidOf(stale)).toBe('k1');
      for (const replica of fleet.all()) {
        const r = await replica.get(`/internal/v1/workspaces/${who.wsId}/segments/seg-0-0/dek`, stale);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('UNAUTHENTICATED');
        expect((await replica.get('/v1/platform/vendor-canaries', opOld.token)).status).toBe(401);
        expect((await replica.get('/v1/platform/vendor-canaries', opNew.token)).status).toBe(200);
      }
    } finally {
      await fleet.close();
    }
  });

  it('negative control: signing with a key before every replica knows it fails requests', async () => {
    const fleet = new Fleet(stack);
    const operator = { token: opOld.token };
    try {
      const s0 = { tokenKeys: keysText([k1]), operatorTokens: ops(opOld) };
      await fleet.start(0, s0);
      await fleet.start(1, s0);
      const result = await underLoad(fleet, who, operator, async () => {
        await sleep(1000);
        await fleet.restart(0, { tokenKeys: keysText([k2]), operatorTokens: ops(opOld) });
        await sleep(3000);
      });
      expect(result.failures.some((f) => f.startsWith('dek 401') || f.startsWith('admin 401'))).toBe(true);
    } finally {
      await fleet.close();
    }
  });

  it('an expired named operator token is refused, and the actor of what an operator does is its token name', async () => {
    const fleet = new Fleet(stack);
    const expired = { name: 'temp-contractor', token: randomBytes(32).toString('base64url') };
    try {
      await fleet.start(0, {
        tokenKeys: keysText([k2]),
        operatorTokens: `${ops(opNew)},${operatorTokenEntryLine(expired.name, expired.token, new Date(Date.now() - 1000))}`,
      });
      const [api] = fleet.all();
      const refused = await api.get('/v1/platform/vendor-canaries', expired.token);
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('UNAUTHENTICATED');
      const created = await api.post(
        '/v1/tenants',
        {
          name: `t-${randomBytes(3).toString('hex')}`,
          admin: { email: `a-${randomBytes(3).toString('hex')}@example.com` },
        },
        opNew.token,
      );
      expect(created.status).toBe(201);
      const [row] = await stack.api.services.ds.query(
        `SELECT actor FROM audit_events WHERE tenant_id = $1 ORDER BY seq LIMIT 1`,
        [created.body.id],
      );
      expect(row.actor).toBe(`operator:${opNew.name}`);
    } finally {
      await fleet.close();
    }
  });
});
