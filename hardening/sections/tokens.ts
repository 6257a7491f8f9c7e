import { createHmac, randomBytes } from 'node:crypto';
import { TokenSigner } from '../../libs/auth/src';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';
import { hasErrorCode } from './isolation';

/**
 * Token and secret hygiene. Forged and stale tokens are refused on both APIs: expired, tampered payloads (tenant,
 * role, audience), tampered signatures, alg=none, other algorithms, wrong audience (a service token on the admin
 * API and the reverse, including one correctly signed with the wrong audience), garbage; a service principal's
 * token replayed after the principal was disabled through the API; and brute force on the token endpoint meets 429 + Retry-After
 * (and then even the right password waits).
 */
export interface TokenResult {
  cases: number;
  accepted: number;
  replayAfterDisable: 'refused' | 'accepted' | 'not-tested';
  /** How long after the disable the replayed token stopped working (bound: 5 × the DEK state cache TTL; expected at once). */
  replayRefusedAfterMs: number | null;
  bruteForceAttempts: number;
  rateLimited: boolean;
  retryAfterSeconds: number | null;
  rightPasswordAlsoLimited: boolean;
  details: string[];
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export async function runTokens(stack: HardeningStack, t: SeededTenant, victim: SeededTenant): Promise<TokenResult> {
  const r: TokenResult = {
    cases: 0,
    accepted: 0,
    replayAfterDisable: 'not-tested',
    replayRefusedAfterMs: null,
    bruteForceAttempts: 0,
    rateLimited: false,
    retryAfterSeconds: null,
    rightPasswordAlsoLimited: false,
    details: [],
  };
  const secret = stack.config.tokenKeys[0].secret;
  const signer = new TokenSigner(stack.config.tokenKeys, 60);
  const adminPath = `${t.base}/workspaces`;
  const dekPath = t.dekPath('tok-seg');
  const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
  const admin = claims(t.tokens.keyAdmin);
  const svc = claims(t.tokens.service);
  const sign = (header: unknown, payload: unknown, key = secret) => {
    const h = b64(header);
    const p = b64(payload);
    return `${h}.${p}.${createHmac('sha256', key).update(`${h}.${p}`).digest('base64url')}`;
  };
  const hs = { alg: 'HS256', typ: 'JWT' };
  const now = Math.floor(Date.now() / 1000);
  const flip = (s: string) => s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + (s.at(-1) ?? '');

  const forged: Array<[string, string, 'admin' | 'service']> = [
    [
      'expired admin token (signed with the real key)',
      (await signer.sign({ tid: t.id, sub: admin.sub, role: 'key_admin' }, Date.now() - 3_600_000)).token,
      'admin',
    ],
    [
      'expired service token',
      (await signer.sign({ tid: t.id, sub: svc.sub, role: 'service' }, Date.now() - 3_600_000)).token,
      'service',
    ],
    [
      'payload tampered: role auditor → key_admin',
      `${t.tokens.auditor.split('.')[0]}.${b64({ ...claims(t.tokens.auditor), role: 'key_admin' })}.${t.tokens.auditor.split('.')[2]}`,
      'admin',
    ],
    [
      'payload tampered: exp extended',
      `${t.tokens.keyAdmin.split('.')[0]}.${b64({ ...admin, exp: now + 86_400 * 365 })}.${t.tokens.keyAdmin.split('.')[2]}`,
      'admin',
    ],
    [
      'payload tampered: tid changed',
      `${t.tokens.keyAdmin.split('.')[0]}.${b64({ ...admin, tid: victim.id })}.${t.tokens.keyAdmin.split('.')[2]}`,
      'admin',
    ],
    ['signature tampered', flip(t.tokens.keyAdmin), 'admin'],
    ['signature stripped', t.tokens.keyAdmin.split('.').slice(0, 2).join('.') + '.', 'admin'],
    ['alg=none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(admin)}.`, 'admin'],
    ['alg=None', `${b64({ alg: 'None', typ: 'JWT' })}.${b64(admin)}.`, 'admin'],
    ['alg=none (service)', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(svc)}.`, 'service'],
    ['alg=HS512 header, HS256 signature', sign({ alg: 'HS512', typ: 'JWT' }, admin), 'admin'],
    ['alg=RS256 header', sign({ alg: 'RS256', typ: 'JWT' }, admin), 'admin'],
    ['kid header injection', sign({ ...hs, kid: '../../dev/null' }, admin), 'admin'],
    ['signed with another key', sign(hs, admin, randomBytes(48).toString('base64url')), 'admin'],
    [
      "another key under the signing key's id",
      sign({ ...hs, kid: stack.config.tokenKeys[0].kid }, admin, randomBytes(48).toString('base64url')),
      'admin',
    ],
    ['the real key under the id of a retired key', sign({ ...hs, kid: 'retired-2025' }, admin), 'admin'],
    ['signed with an empty key', sign(hs, admin, ''), 'admin'],
    ['service token on the admin API', t.tokens.service, 'admin'],
    ['admin token on the DEK API', t.tokens.keyAdmin, 'service'],
    ['auditor token on the DEK API', t.tokens.auditor, 'service'],
    ['correctly signed, admin audience with role service', sign(hs, { ...svc, aud: 'keyhold-admin' }), 'admin'],
    [
      'correctly signed, internal audience with role key_admin',
      sign(hs, { ...admin, aud: 'keyhold-internal' }),
      'service',
    ],
    ['correctly signed, wrong issuer', sign(hs, { ...admin, iss: 'someone-else' }), 'admin'],
    ['correctly signed, no exp', sign(hs, { ...admin, exp: undefined }), 'admin'],
    ['correctly signed, exp as string', sign(hs, { ...admin, exp: String(now + 600) }), 'admin'],
    ['operator token on the admin API', stack.operatorToken, 'admin'],
    ['operator token on the DEK API', stack.operatorToken, 'service'],
    ['empty bearer', '', 'admin'],
    ['garbage', 'not.a.token', 'admin'],
    ['oversized token (under the header limit)', `${'a'.repeat(3000)}.${'b'.repeat(3000)}.c`, 'admin'],
  ];
  for (const [what, token, api] of forged) {
    r.cases++;
    const res = await (api === 'admin' ? stack.http.get(adminPath, token) : stack.http.get(dekPath, token)).catch(
      (err: unknown) => ({ status: 0, text: (err as Error).message, body: undefined, headers: new Headers(), ms: 0 }),
    );
    if (res.status === 0) {
      r.details.push(`${what}: no answer (${res.text})`);
      continue;
    }
    if (res.status !== 401 || !hasErrorCode(res)) {
      r.accepted++;
      r.details.push(`${what}: expected 401 with an error code, got ${res.status} ${res.text.slice(0, 120)}`);
    }
  }
  // Positive control: the real tokens work (or every refusal above would be meaningless).
  for (const [what, res] of [
    ['real admin token', await stack.http.get(adminPath, t.tokens.keyAdmin)],
    ['real service token', await stack.http.get(dekPath, t.tokens.service)],
  ] as const)
    if (res.status !== 200) r.details.push(`positive control ${what}: ${res.status} ${res.text.slice(0, 120)}`);

  // Replay after disable: the victim's key admin disables the principal through the API; the DEK path must refuse
  // the already-issued token (the change is broadcast to every replica's caches) and the token endpoint a new one.
  r.cases++;
  const before = await stack.http.get(victim.dekPath('replay'), victim.tokens.service);
  if (before.status !== 200) r.details.push(`replay precondition: victim's service token got ${before.status}`);
  const disable = await stack.http.request('PATCH', `${victim.base}/service-principals/${victim.servicePrincipalId}`, {
    token: victim.tokens.keyAdmin,
    body: { disabled: true },
  });
  if (disable.status !== 200)
    r.details.push(
      `disabling the victim's service principal through the API: ${disable.status} ${disable.text.slice(0, 120)}`,
    );
  const disabledAt = Date.now();
  const bound = stack.config.dek.stateCacheTtlMs * 5 + 1_000;
  let replay = await stack.http.get(victim.dekPath('replay'), victim.tokens.service);
  while (replay.status === 200 && Date.now() - disabledAt < bound) {
    await new Promise((ok) => setTimeout(ok, 100));
    replay = await stack.http.get(victim.dekPath('replay'), victim.tokens.service);
  }
  r.replayRefusedAfterMs = replay.status === 200 ? null : Date.now() - disabledAt;
  const newToken = await stack.http.post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: victim.clientId,
    client_secret: victim.clientSecret,
  });
  r.replayAfterDisable =
    replay.status === 401 || replay.status === 403 || replay.status === 404 ? 'refused' : 'accepted';
  if (r.replayAfterDisable === 'accepted') {
    r.accepted++;
    r.details.push(`token still accepted ${bound} ms after its service principal was disabled: ${replay.status}`);
  }
  r.cases++;
  if (newToken.status === 200) {
    r.accepted++;
    r.details.push('a disabled service principal was issued a new token');
  }

  // Brute force against one account: the per-account limit must answer 429 with Retry-After.
  // The limiter uses fixed one-minute windows, so a run that straddles a window boundary may legitimately get up
  // to twice the limit before the first 429: allow exactly that much and no more.
  const limit = stack.config.rateLimit.tokenPerPrincipalPerMinute;
  for (let i = 0; i < 2 * limit + 1 && !r.rateLimited; i++) {
    r.bruteForceAttempts++;
    const res = await stack.http.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: victim.id,
      username: victim.adminEmail,
      password: `guess-${i}-${randomBytes(4).toString('hex')}`,
    });
    if (res.status === 429) {
      r.rateLimited = true;
      const ra = Number(res.headers.get('retry-after'));
      r.retryAfterSeconds = Number.isFinite(ra) && ra > 0 ? ra : null;
      if (!hasErrorCode(res)) r.details.push('429 without an error code');
    } else if (res.status !== 400 && res.status !== 401) r.details.push(`brute force attempt ${i}: ${res.status}`);
  }
  if (!r.rateLimited) r.details.push(`no 429 after ${r.bruteForceAttempts} wrong passwords (limit ${limit}/min)`);
  else if (r.retryAfterSeconds === null) r.details.push('429 without a usable Retry-After');
  const right = await stack.http.post('/v1/auth/token', {
    grant_type: 'password',
    tenant_id: victim.id,
    username: victim.adminEmail,
    password: victim.adminPassword,
  });
  r.rightPasswordAlsoLimited = right.status === 429;
  if (!r.rightPasswordAlsoLimited)
    r.details.push(
      `after the lockout the right password got ${right.status}, not 429 (the limiter would leak which guess was right)`,
    );
  return r;
}
