import { ApiApp } from '../../apps/api/src/app';
import { discardLogs, expectStatus, HttpClient, HttpResult, startApi } from '../../stack';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';

/**
 * Service-principal revocation across API replicas. A second API replica is started over the same database and
 * Redis prefix; for each kind of change a fresh principal is warmed up on that replica (token verified and cached,
 * credential state, DEK scope and KEK cached: the warm path), the key admin makes the change on the first replica
 * through the API, and the second replica is asked again and again until it refuses. The figure is the time from
 * the admin's 200 to the first refusal on the other replica. Kinds: disabled, deleted, one secret revoked, a
 * rotation with no overlap, the scope narrowed, a rotation's overlap running out (no message at all: the end
 * time is cached with the secret), and a disable whose pub/sub message the other replica never receives (its
 * subscription is dropped first: only the generation poll can catch it).
 * After each refusal the old credential is tried again on both replicas (DEK requests with the old token, token
 * requests with the old secret): every success counts as a revoked credential used.
 */
export type RevocationKind =
  | 'disabled'
  | 'deleted'
  | 'secret_revoked'
  | 'secret_rotated_no_overlap'
  | 'scope_narrowed'
  | 'overlap_ended'
  | 'disabled_message_lost';

export interface SpRevocationResult {
  replicas: number;
  /** ms from the admin's 200 (or, for overlap_ended, the announced end) to the first refusal on the other replica. */
  propagationMs: Partial<Record<RevocationKind, number | null>>;
  worstMs: number | null;
  /** Old-credential attempts made after each refusal (both replicas). */
  attemptsAfterRevocation: number;
  /** Of those, how many succeeded (goal 0). */
  revokedUses: number;
  details: string[];
}

const BOUND_MS = 5_000;

export async function runSpRevocation(stack: HardeningStack, t: SeededTenant): Promise<SpRevocationResult> {
  const r: SpRevocationResult = {
    replicas: 2,
    propagationMs: {},
    worstMs: null,
    attemptsAfterRevocation: 0,
    revokedUses: 0,
    details: [],
  };
  const other = await startApi(stack.config, { logDestination: discardLogs() });
  try {
    const a = stack.http;
    const b = new HttpClient(other.url, other.internalUrl);
    const kinds: RevocationKind[] = [
      'disabled',
      'deleted',
      'secret_revoked',
      'secret_rotated_no_overlap',
      'scope_narrowed',
      'overlap_ended',
      'disabled_message_lost',
    ];
    for (const kind of kinds) {
      try {
        await oneKind(kind, a, b, other, t, r);
      } catch (err) {
        r.propagationMs[kind] = null;
        r.details.push(`${kind}: ${String((err as Error).message).slice(0, 300)}`);
      }
    }
  } finally {
    await other.close();
  }
  const all = Object.values(r.propagationMs);
  r.worstMs = all.length && all.every((v) => typeof v === 'number') ? Math.max(...all) : null;
  return r;
}

async function oneKind(
  kind: RevocationKind,
  a: HttpClient,
  b: HttpClient,
  other: ApiApp,
  t: SeededTenant,
  r: SpRevocationResult,
): Promise<void> {
  const admin = t.tokens.keyAdmin;
  const sp = expectStatus(
    'create principal',
    await a.post(`${t.base}/service-principals`, { name: `rev-${kind}`, workspaceIds: [t.workspaceId] }, admin),
    201,
  );
  const spPath = `${t.base}/service-principals/${sp.body.id}`;
  const secret = sp.body.clientSecret as string;
  const issue = (http: HttpClient, s: string) =>
    http.post('/v1/auth/token', { grant_type: 'client_credentials', client_id: sp.body.clientId, client_secret: s });
  // Warm the other replica: token issued and verified there, credential state, scope and KEK cached.
  const svc = expectStatus('service token', await issue(b, secret), 200).body.access_token as string;
  const dek = (http: HttpClient) => http.get(t.dekPath(`rev-${kind}`), svc);
  for (let i = 0; i < 3; i++) expectStatus('warm-up DEK', await dek(b), 200);
  expectStatus('warm-up DEK (admin replica)', await dek(a), 200);

  let changedAt: number;
  let oldSecret: string | null = secret;
  if (kind === 'disabled_message_lost') await other.services.principalBus.close();
  switch (kind) {
    case 'disabled':
    case 'disabled_message_lost':
      expectStatus(kind, await a.request('PATCH', spPath, { token: admin, body: { disabled: true } }), 200);
      changedAt = Date.now();
      break;
    case 'deleted':
      expectStatus(kind, await a.delete(spPath, admin), 204);
      changedAt = Date.now();
      break;
    case 'secret_revoked': {
      const got = expectStatus('get principal', await a.get(spPath, admin), 200);
      expectStatus(kind, await a.delete(`${spPath}/secrets/${got.body.secrets[0].id}`, admin), 204);
      changedAt = Date.now();
      break;
    }
    case 'secret_rotated_no_overlap':
      expectStatus(kind, await a.post(`${spPath}/secrets`, { overlapSeconds: 0 }, admin), 201);
      changedAt = Date.now();
      break;
    case 'scope_narrowed':
      expectStatus(kind, await a.request('PATCH', spPath, { token: admin, body: { workspaceIds: [] } }), 200);
      changedAt = Date.now();
      oldSecret = null; // the secret stays good; only the workspace is out of reach
      break;
    case 'overlap_ended': {
      const rot = expectStatus(kind, await a.post(`${spPath}/secrets`, { overlapSeconds: 1 }, admin), 201);
      changedAt = Date.parse(rot.body.previousSecretsExpireAt as string);
      // During the overlap the old token must still work on the other replica.
      if ((await dek(b)).status !== 200) r.details.push('overlap_ended: the old token was refused during the overlap');
      while (Date.now() < changedAt) await sleep(5);
      break;
    }
  }

  let last: HttpResult = await dek(b);
  while (last.status === 200 && Date.now() - changedAt < BOUND_MS) {
    await sleep(5);
    last = await dek(b);
  }
  const ms = Math.max(0, Date.now() - changedAt);
  if (last.status === 200) {
    r.propagationMs[kind] = null;
    r.details.push(`${kind}: the other replica still served the old credential ${BOUND_MS} ms after the change`);
  } else r.propagationMs[kind] = ms;
  const expected = kind === 'scope_narrowed' ? 404 : 401;
  if (last.status !== 200 && last.status !== expected)
    r.details.push(`${kind}: refused with ${last.status}, expected ${expected}`);

  // The old credential, tried again on both replicas.
  const tries: Array<Promise<HttpResult>> = [dek(a), dek(b), dek(a), dek(b)];
  if (oldSecret !== null) tries.push(issue(a, oldSecret), issue(b, oldSecret));
  for (const res of await Promise.all(tries)) {
    r.attemptsAfterRevocation++;
    if (res.status === 200) {
      r.revokedUses++;
      r.details.push(`${kind}: a revoked credential was accepted after the refusal (${res.text.slice(0, 80)})`);
    }
  }
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
