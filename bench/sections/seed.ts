import { mapLimit } from '../lib/http';
import { MailReader, onboardTenant } from '../../apps/api/src/dev/onboarding-client';
import { KeyholdClient, segmentId } from '../lib/keyhold';
import { BENCH_KEY_ACTIONS } from '../lib/stack';
import type { BenchContext, World } from './context';

/** The API's limit on the workspaces of one service principal (POST …/service-principals). */
const SCOPE_LIMIT = 1000;

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** One access token per principal, looked up by workspace (tokens are per replica: pass that replica's client). */
export async function tokensByWorkspace(client: KeyholdClient, world: World): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const p of world.principals) {
    const token = await client.serviceToken(p.clientId, p.clientSecret);
    for (const ws of p.workspaceIds) map.set(ws, token);
  }
  return map;
}

/**
 * Seeds the population through the public contract (admin API + batch DEK endpoint), so the benchmark exercises
 * the product's own get-or-create and never depends on table layouts:
 * one tenant, one customer CMK + role in the AWS emulator, one valid key configuration, the workspaces bound to it,
 * one service principal scoped to all of them, and the DEKs of every segment the load generator will address.
 */
export async function seed(ctx: BenchContext, operatorToken: string, mail: MailReader): Promise<World> {
  const m = ctx.mode;
  const c = ctx.client;
  const started = Date.now();
  // The operator creates the tenant; its key admin accepts the mailed invitation (dev mailbox) with their own password.
  const onboarded = await onboardTenant(c.baseUrl, operatorToken, {
    name: 'benchmark tenant',
    email: 'bench-admin@example.com',
    mail,
  });
  const { tenant, token } = onboarded;
  const admin = { email: onboarded.email, password: onboarded.password };

  const roleName = 'keyhold-bench';
  const roleArn = await ctx.customer.createRole(roleName, tenant.aws.trustedPrincipalArn, tenant.aws.externalId);
  const keyArn = await ctx.customer.createKey(roleArn, roleName, {
    description: 'keyhold benchmark CMK',
    extraActions: BENCH_KEY_ACTIONS,
  });
  const keyConfigurationId = await c.registerAwsKeyConfiguration(token, tenant.id, 'bench-aws', keyArn, roleArn);
  ctx.log(`seed: tenant, CMK and key configuration ready (${Date.now() - started} ms)`);

  const count = m.scaleWorkspaces + 1 + m.multiColdWorkspaces + m.coldSamples + 2;
  const ids = await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      const id = await c.createWorkspace(token, tenant.id, `bench-ws-${i}`);
      await c.bindWorkspace(token, tenant.id, id, keyConfigurationId);
      return id;
    },
  );
  ctx.log(`seed: ${count} workspaces created and bound (${Date.now() - started} ms)`);
  let at = 0;
  const take = (n: number): string[] => ids.slice(at, (at += n));
  const scaleWorkspaces = take(m.scaleWorkspaces);
  const world: World = {
    tenantId: tenant.id,
    admin,
    keyConfigurationId,
    keyArn,
    roleArn,
    roleName,
    externalId: tenant.aws.externalId,
    vendorPrincipalArn: tenant.aws.trustedPrincipalArn,
    scaleWorkspaces,
    fetchWorkspaces: scaleWorkspaces.slice(0, m.fetchWorkspaces),
    singleFlightWorkspace: take(1)[0],
    multiColdWorkspaces: take(m.multiColdWorkspaces),
    coldSampleWorkspaces: take(m.coldSamples),
    warmupWorkspace: take(1)[0],
    rotationWorkspace: take(1)[0],
    principals: [],
  };
  // Scopes: the fetch population alone first, then everything else in chunks of the API's 1,000-workspace limit.
  const fetchSet = new Set(world.fetchWorkspaces);
  const scopes = [
    world.fetchWorkspaces,
    ...chunk(
      ids.filter((id) => !fetchSet.has(id)),
      SCOPE_LIMIT,
    ),
  ];
  for (const [i, workspaceIds] of scopes.entries()) {
    const sp = await c.createServicePrincipal(token, tenant.id, `bench-service-${i}`, workspaceIds);
    world.principals.push({ clientId: sp.clientId, clientSecret: sp.clientSecret, workspaceIds });
  }
  const tokens = await tokensByWorkspace(c, world);

  // DEKs the measurements address. Created through the control replica, so measured replicas start cold.
  const jobs: Array<{ ws: string; from: number; n: number }> = [];
  const plan = (ws: string, n: number, per: number): void => {
    for (let from = 0; from < n; from += per) jobs.push({ ws, from, n: Math.min(per, n - from) });
  };
  for (const ws of world.fetchWorkspaces) plan(ws, m.segmentsPerWorkspace, m.segmentsPerWorkspace);
  plan(world.singleFlightWorkspace, m.singleFlightConcurrent, 1000);
  for (const ws of world.multiColdWorkspaces) plan(ws, m.multiColdPerWorkspace, m.multiColdPerWorkspace);
  for (const ws of [...world.coldSampleWorkspaces, world.warmupWorkspace]) plan(ws, 1, 1);
  plan(world.rotationWorkspace, m.kekRotationDeks, 1000);
  let done = 0;
  await mapLimit(jobs, 4, async (j) => {
    await c.batchGet(
      tokens.get(j.ws)!,
      j.ws,
      Array.from({ length: j.n }, (_, i) => segmentId(j.from + i)),
    );
    done += j.n;
  });
  ctx.log(`seed: ${done} DEKs created (${Date.now() - started} ms)`);
  return world;
}
