import { randomBytes } from 'node:crypto';
import {
  acceptMailedInvitation,
  adminToken,
  inviteUser,
  mailboxToken,
  newTestPassword,
} from '../../apps/api/src/dev/onboarding-client';
import { HttpClient, startApi } from '../../stack';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';
import { generate } from 'otplib';

/**
 * Who can act for a tenant.
 *
 * Operator access: the platform operator creates a tenant and then, with its token and everything its answer
 * showed (tenant id, ExternalId, invitation id, recipient, the whole JSON), tries to get inside: accept or look up
 * the invitation, complete a password reset, sign in as the admin, call the tenant's admin routes, create an admin
 * with a known password. Every success counts in `operatorTenantAccess` (goal 0). The invitee then accepts from
 * their mailbox (positive control: the invitation was live all along).
 *
 * Revoked credentials: an admin's token (verified and cached on two API replicas) is replayed after each of
 * disable, role change, password change, password reset, a key admin's reset of the admin's MFA (the token came
 * from a password + TOTP sign-in) and delete; the old password is tried after a change.
 * Every acceptance counts in `revokedCredentialUses` (goal 0). The time until the second replica refuses a
 * disabled admin's token is `adminRevocationPropagationMs`.
 */
export interface CredentialsResult {
  operatorAttempts: number;
  operatorTenantAccess: number;
  revokedCases: number;
  revokedCredentialUses: number;
  adminRevocationPropagationMs: number | null;
  details: string[];
}

export async function runCredentials(stack: HardeningStack, t: SeededTenant): Promise<CredentialsResult> {
  const r: CredentialsResult = {
    operatorAttempts: 0,
    operatorTenantAccess: 0,
    revokedCases: 0,
    revokedCredentialUses: 0,
    adminRevocationPropagationMs: null,
    details: [],
  };
  await operatorAccess(stack, r);
  await revokedCredentials(stack, t, r);
  return r;
}

async function operatorAccess(stack: HardeningStack, r: CredentialsResult): Promise<void> {
  const http = stack.http;
  const op = stack.operatorToken;
  const email = `first-${randomBytes(4).toString('hex')}@operator-test.example.com`;
  const created = await http.post(
    '/v1/tenants',
    { name: `op-${randomBytes(3).toString('hex')}`, admin: { email } },
    op,
  );
  if (created.status !== 201) {
    r.details.push(`operator could not create a tenant: ${created.status}`);
    return;
  }
  const tenantId = created.body.id as string;
  const base = `/v1/tenants/${tenantId}`;
  // Everything the operator saw: each string in the answer, the answer itself, and its own token.
  const seen = new Set<string>([op, created.text]);
  const walk = (v: unknown) => {
    if (typeof v === 'string') seen.add(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(created.body);
  const attempt = async (
    what: string,
    ok: (status: number) => boolean,
    send: () => Promise<{ status: number; text: string }>,
  ) => {
    r.operatorAttempts++;
    const res = await send();
    if (ok(res.status)) {
      r.operatorTenantAccess++;
      if (r.details.length < 40) r.details.push(`operator got in: ${what} → ${res.status} ${res.text.slice(0, 100)}`);
    }
  };
  const success = (s: number) => s >= 200 && s < 300;
  for (const guess of seen) {
    const g = guess.slice(0, 4000);
    await attempt('accept invitation', success, () =>
      http.post('/v1/invitations/accept', { token: g, password: newTestPassword() }),
    );
    await attempt('look up invitation', success, () => http.post('/v1/invitations/lookup', { token: g }));
    await attempt('complete a password reset', success, () =>
      http.post('/v1/password-resets/complete', { token: g, password: newTestPassword() }),
    );
    await attempt('sign in as the first admin', success, () =>
      http.post('/v1/auth/token', { grant_type: 'password', tenant_id: tenantId, username: email, password: g }),
    );
    if (/^[\x21-\x7e]+$/.test(g))
      await attempt('admin route with a seen value as bearer', success, () => http.get(`${base}/workspaces`, g));
  }
  // The operator's own token on every kind of tenant route.
  for (const [m, p, body] of [
    ['GET', base, undefined],
    ['GET', `${base}/admin-users`, undefined],
    ['POST', `${base}/invitations`, { email: 'operator@vendor.example.com', role: 'key_admin' }],
    [
      'POST',
      `${base}/admin-users`,
      { email: 'operator@vendor.example.com', password: newTestPassword(), role: 'key_admin' },
    ],
    ['POST', `${base}/workspaces`, { name: 'vendor' }],
    ['POST', `${base}/service-principals`, { name: 'vendor', workspaceIds: [] }],
    ['POST', `${base}/me/password`, { currentPassword: op, newPassword: newTestPassword() }],
  ] as const)
    await attempt(`${m} ${p.replace(tenantId, '{tenant}')} with the operator token`, success, () =>
      http.request(m, p, { token: op, body }),
    );
  // A password reset the operator requests is mailed to the admin, not to the operator: 202 is expected, the link
  // never reaches the operator's answer.
  const reset = await http.post('/v1/password-resets', { tenant_id: tenantId, email });
  r.operatorAttempts++;
  if (reset.status !== 202 || /#\/reset-password\//.test(reset.text)) {
    r.operatorTenantAccess++;
    r.details.push(`password reset request answered ${reset.status} ${reset.text.slice(0, 100)}`);
  }
  // No operator-chosen password anywhere.
  await attempt(
    'create a tenant with a known admin password',
    (s) => s !== 400,
    () =>
      http.post(
        '/v1/tenants',
        {
          name: 'known-pw',
          admin: { email: `k-${randomBytes(3).toString('hex')}@example.com`, password: newTestPassword() },
        },
        op,
      ),
  );
  // Positive control: the invitee accepts from their own mailbox (the invitation was live all along). Signing in
  // is not tried: the guesses above have put this (account, address) pair into its backoff.
  try {
    await acceptMailedInvitation(stack.url, email, newTestPassword());
  } catch (err) {
    r.details.push(`positive control: the invitee could not accept: ${(err as Error).message.slice(0, 160)}`);
  }
}

async function revokedCredentials(stack: HardeningStack, t: SeededTenant, r: CredentialsResult): Promise<void> {
  const a = stack.http;
  const replica = await startApi(stack.config);
  const b = new HttpClient(replica.url, replica.internalUrl);
  try {
    const base = t.base;
    const path = `${base}/workspaces`;
    const user = await inviteUser(stack.url, t.tokens.keyAdmin, t.id, {
      email: `rev-${randomBytes(4).toString('hex')}@example.com`,
      role: 'key_admin',
    });
    let password = user.password;
    const fresh = () => adminToken(stack.url, t.id, user.email, password);
    /** Warm the token on both replicas, apply the change, then replay the old token on both. */
    const replayAfter = async (what: string, change: () => Promise<void>, measure = false) => {
      const token = await fresh();
      for (const h of [a, b])
        if ((await h.get(path, token)).status !== 200)
          r.details.push(`${what}: precondition, token refused before the change`);
      const t0 = Date.now();
      await change();
      if (measure) {
        let refusedAt: number | null = null;
        while (Date.now() - t0 < 10_000) {
          if ((await b.get(path, token)).status === 401) {
            refusedAt = Date.now();
            break;
          }
        }
        r.adminRevocationPropagationMs = refusedAt === null ? null : refusedAt - t0;
      }
      for (const [name, h] of [
        ['replica 1', a],
        ['replica 2', b],
      ] as const) {
        r.revokedCases++;
        const res = await h.get(path, token);
        if (res.status !== 401) {
          r.revokedCredentialUses++;
          r.details.push(`${what}: old token on ${name} → ${res.status}`);
        }
      }
    };
    const patch = (body: unknown) => async () => {
      const res = await a.request('PATCH', `${base}/admin-users/${user.id}`, { token: t.tokens.keyAdmin, body });
      if (res.status !== 200) r.details.push(`PATCH ${JSON.stringify(body)} → ${res.status}`);
    };
    await replayAfter('disable', patch({ disabled: true }), true);
    r.revokedCases++;
    const whileDisabled = await a.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: t.id,
      username: user.email,
      password,
    });
    if (whileDisabled.status === 200) {
      r.revokedCredentialUses++;
      r.details.push('a disabled admin signed in');
    }
    await patch({ disabled: false })();
    await replayAfter('role change', patch({ role: 'auditor' }));
    await patch({ role: 'key_admin' })();
    const old = password;
    await replayAfter('password change', async () => {
      const next = newTestPassword();
      const token = await fresh();
      const res = await a.post(`${base}/me/password`, { currentPassword: password, newPassword: next }, token);
      if (res.status !== 204) r.details.push(`password change → ${res.status}`);
      password = next;
    });
    r.revokedCases++;
    const oldPassword = await a.post('/v1/auth/token', {
      grant_type: 'password',
      tenant_id: t.id,
      username: user.email,
      password: old,
    });
    if (oldPassword.status === 200) {
      r.revokedCredentialUses++;
      r.details.push('the old password still signs in after a change');
    }
    await replayAfter('password reset', async () => {
      await a.post('/v1/password-resets', { tenant_id: t.id, email: user.email });
      const token = await mailboxToken(stack.url, user.email, 'password_reset');
      const next = newTestPassword();
      const res = await a.post('/v1/password-resets/complete', { token, password: next });
      if (res.status !== 204) r.details.push(`password reset → ${res.status}`);
      password = next;
    });
    await mfaReset(stack, t, user.email, password, a, b, r);
    await replayAfter('delete', async () => {
      const res = await a.delete(`${base}/admin-users/${user.id}`, t.tokens.keyAdmin);
      if (res.status !== 204) r.details.push(`delete → ${res.status}`);
    }).catch((err: unknown) => {
      // after a delete no fresh token can be had: replay the last one instead
      r.details.push(`delete case could not run: ${(err as Error).message.slice(0, 120)}`);
    });
  } finally {
    await replica.close();
  }
}

/**
 * The admin enrols TOTP and signs in with it; the token is warmed on both replicas; a key admin resets the admin's
 * MFA (lost device); the token must be refused on both, and a TOTP code must not be asked for any more.
 */
async function mfaReset(
  stack: HardeningStack,
  t: SeededTenant,
  email: string,
  password: string,
  a: HttpClient,
  b: HttpClient,
  r: CredentialsResult,
): Promise<void> {
  const path = `${t.base}/workspaces`;
  const token = await adminToken(stack.url, t.id, email, password);
  const started = await a.post(`${t.base}/me/mfa/totp`, {}, token);
  const now = Math.floor(Date.now() / 1000);
  const confirmed = await a.post(
    `${t.base}/me/mfa/totp/${started.body?.factorId}/confirm`,
    { code: await generate({ secret: started.body?.secret ?? '', epoch: now }) },
    token,
  );
  const step = await a.post('/v1/auth/token', { grant_type: 'password', tenant_id: t.id, username: email, password });
  const signedIn = await a.post('/v1/auth/mfa/totp', {
    mfa_token: step.body?.mfa_token,
    code: await generate({ secret: started.body?.secret ?? '', epoch: now + 30 }),
  });
  const mfaToken = signedIn.body?.access_token as string | undefined;
  if (confirmed.status !== 200 || !mfaToken) {
    r.details.push(`MFA reset: precondition, TOTP enrolment ${confirmed.status} / sign-in ${signedIn.status}`);
    return;
  }
  for (const h of [a, b])
    if ((await h.get(path, mfaToken)).status !== 200)
      r.details.push('MFA reset: precondition, token refused before the change');
  const users = await a.get(`${t.base}/admin-users`, t.tokens.keyAdmin);
  const id = (users.body?.adminUsers as Array<{ id: string; email: string }> | undefined)?.find(
    (u) => u.email === email.toLowerCase(),
  )?.id;
  const reset = await a.delete(`${t.base}/admin-users/${id}/mfa`, t.tokens.keyAdmin);
  if (reset.status !== 200) r.details.push(`MFA reset → ${reset.status}`);
  for (const [name, h] of [
    ['replica 1', a],
    ['replica 2', b],
  ] as const) {
    r.revokedCases++;
    const res = await h.get(path, mfaToken);
    if (res.status !== 401) {
      r.revokedCredentialUses++;
      r.details.push(`MFA reset: old token on ${name} → ${res.status}`);
    }
  }
}
