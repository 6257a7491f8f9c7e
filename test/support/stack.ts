import { randomBytes } from 'node:crypto';
import type { KeyholdConfigInput } from '../../libs/config/src';
import { cleanRedisPrefix as cleanPrefix, startStack as startHarnessStack, type Stack } from '../../stack';
import { TEST_DATABASE_URL } from './db';
import { onboardTenant } from '../../apps/api/src/dev/onboarding-client';

export { HttpClient } from '../../stack';
export type { HttpResult } from '../../stack';

/**
 * The whole product in-process for a test file (the shared stack builder, stack/): the three cloud emulators, the
 * API on ephemeral ports with a unique Redis prefix, against the migrated test database. Logs are captured in
 * memory so tests can prove nothing secret was written.
 */
export type TestStack = Stack;

export interface StackOptions {
  config?: KeyholdConfigInput;
  providerEnv?: Record<string, string>;
}

export function startStack(options: StackOptions = {}): Promise<TestStack> {
  return startHarnessStack({ databaseUrl: TEST_DATABASE_URL, ...options });
}

/**
 * Operator creates a tenant; its first key admin accepts the mailed invitation (read from the dev mailbox) and
 * signs in. Returns the tenant with the admin's token (the shared onboarding client, no second copy).
 */
export async function tenantWithAdmin(stack: TestStack, name = `t-${randomBytes(3).toString('hex')}`) {
  const a = await onboardTenant(stack.url, stack.operatorToken, {
    name,
    email: `${name.toLowerCase()}-${randomBytes(3).toString('hex')}@example.com`,
  });
  return { tenant: a.tenant, token: a.token, email: a.email, password: a.password, invitation: a.invitation };
}

/**
 * A tenant with one AWS key configuration (the customer's key and role created through the SDK, exactly as the
 * wizard tells the customer), one workspace bound to it and a service principal scoped to that workspace, with
 * its access token. `principal(permissions)` mints another one; `dekPath(segment)` and `batchPath` are the
 * workspace's internal DEK routes. The one place tests build this (no per-file copies).
 */
export async function awsBoundWorkspace(stack: TestStack) {
  const t = await tenantWithAdmin(stack);
  const vendor = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
  const roleName = `r-${randomBytes(4).toString('hex')}`;
  const roleArn = await stack.aws.createRole(roleName, vendor, t.tenant.aws.externalId);
  const keyArn = await stack.aws.createKey(roleArn, roleName);
  const base = `/v1/tenants/${t.tenant.id}`;
  const kc = await stack.http.post(
    `${base}/key-configurations`,
    { name: 'k', provider: 'aws', aws: { keyArn, roleArn } },
    t.token,
  );
  if (kc.body.status !== 'valid') throw new Error(`key configuration: ${kc.status} ${kc.text}`);
  const ws = await stack.http.post(`${base}/workspaces`, { name: 'w' }, t.token);
  const bound = await stack.http.put(
    `${base}/workspaces/${ws.body.id}/key-binding`,
    { keyConfigurationId: kc.body.id },
    t.token,
  );
  if (bound.status !== 200) throw new Error(`bind: ${bound.status} ${bound.text}`);
  const wsId = ws.body.id as string;
  const principal = async (permissions?: string[]) => {
    const sp = await stack.http.post(
      `${base}/service-principals`,
      { name: 's', workspaceIds: [wsId], ...(permissions ? { permissions } : {}) },
      t.token,
    );
    if (sp.status !== 201) throw new Error(`service principal: ${sp.status} ${sp.text}`);
    const tok = await stack.http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: sp.body.clientSecret,
    });
    if (tok.status !== 200) throw new Error(`service token: ${tok.status} ${tok.text}`);
    return {
      id: sp.body.id as string,
      token: tok.body.access_token as string,
      permissions: sp.body.permissions as string[],
    };
  };
  const svc = (await principal()).token;
  return {
    ...t,
    base,
    keyArn,
    roleArn,
    kcId: kc.body.id as string,
    wsId,
    svc,
    principal,
    dekPath: (seg: string) => `/internal/v1/workspaces/${wsId}/segments/${encodeURIComponent(seg)}/dek`,
    batchPath: `/internal/v1/workspaces/${wsId}/deks:batchGet`,
  };
}

/** Deletes every Redis key under the stack's (unique) prefix: a test file leaves nothing behind in the shared Redis. */
export async function cleanRedisPrefix(stack: Pick<TestStack, 'config' | 'redisPrefix'>): Promise<void> {
  await cleanPrefix(stack.config.redisUrl, stack.redisPrefix);
}
