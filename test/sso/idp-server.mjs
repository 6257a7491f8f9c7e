// A real OpenID Connect provider (the `oidc-provider` package, ESM-only) for the SSO tests, run in a child process
// with plain Node because jest's module registry cannot load ESM-only packages. Configuration arrives as JSON in
// IDP_CONFIG; the process prints `{"ready":true,"issuer":…}` on stdout once it listens.
//
// Users: the dev login form accepts any login; the login is looked up in `users` (email, groups). Clients marked
// `tamper` get ID tokens rewritten after the provider issued them, re-signed with the provider's own key, so the
// relying party sees a correctly signed token whose `aud` or `nonce` is wrong — what a confused or malicious IdP
// would send (also an expired token and one naming another issuer).
import { createPrivateKey, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const cfg = JSON.parse(process.env.IDP_CONFIG ?? '{}');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'idp-key-1', use: 'sig', alg: 'RS256' };
const users = cfg.users ?? {};
const tamper = new Map((cfg.clients ?? []).filter((c) => c.tamper).map((c) => [c.client_id, c.tamper]));

const server = createServer();
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (cfg.clients ?? []).map(({ tamper: _t, ...c }) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['groups', 'name'] },
  scopes: ['openid', 'email', 'profile'],
  pkce: { required: () => true },
  findAccount: async (_ctx, id) => {
    const u = users[id];
    if (!u) return undefined;
    return {
      accountId: id,
      claims: async () => ({
        sub: id,
        email: u.email,
        email_verified: u.emailVerified ?? true,
        groups: u.groups ?? [],
        name: id,
      }),
    };
  },
  // No consent screen: every client here is first-party for the test.
  loadExistingGrant: async (ctx) => {
    const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  features: { devInteractions: { enabled: true } },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
});

function resign(idToken, change) {
  const [, payload] = idToken.split('.');
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), ...change };
  const head = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: jwk.kid })).toString('base64url');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = createSign('RSA-SHA256')
    .update(`${head}.${body}`)
    .sign(createPrivateKey({ key: jwk, format: 'jwk' }))
    .toString('base64url');
  return `${head}.${body}.${sig}`;
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object' || !ctx.body.id_token)
    return;
  const aud = JSON.parse(Buffer.from(ctx.body.id_token.split('.')[1], 'base64url').toString('utf8')).aud;
  const how = tamper.get(aud);
  if (how === 'aud') ctx.body = { ...ctx.body, id_token: resign(ctx.body.id_token, { aud: 'some-other-client' }) };
  if (how === 'nonce')
    ctx.body = { ...ctx.body, id_token: resign(ctx.body.id_token, { nonce: 'not-the-nonce-keyhold-sent' }) };
  const now = Math.floor(Date.now() / 1000);
  if (how === 'exp')
    ctx.body = { ...ctx.body, id_token: resign(ctx.body.id_token, { iat: now - 900, exp: now - 600 }) };
  if (how === 'iss')
    ctx.body = { ...ctx.body, id_token: resign(ctx.body.id_token, { iss: 'https://another-idp.example.com' }) };
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ ready: true, issuer })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
