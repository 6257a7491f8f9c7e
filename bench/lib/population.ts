import { randomBytes } from 'node:crypto';
import { mapLimit } from './http';
import type { BenchContext, World } from '../sections/context';
import { tokensByWorkspace } from '../sections/seed';
import type { KeyholdClient } from './keyhold';
import { BENCH_KEY_ACTIONS } from './stack';

/** The API's limit on the workspaces of one service principal. */
const SCOPE_LIMIT = 1000;
/** Workspaces per extra tenant: binding serialises per tenant (its audit chain), so a large population spans tenants. */
const PER_TENANT = 5000;

export interface Population {
  workspaceIds: string[];
  principals: Array<{ clientId: string; clientSecret: string; workspaceIds: string[] }>;
}

/**
 * The first `n` workspaces of the benchmark's population: the seeded world's bound workspaces first, then workspaces
 * of extra tenants created here on demand (each its own customer CMK, role and key configuration, like real
 * customers), through the public API only. Extra tenants are kept for the larger sizes that follow.
 */
export class PopulationBuilder {
  private readonly extra: Population = { workspaceIds: [], principals: [] };
  private tenants = 0;

  constructor(
    private readonly ctx: BenchContext,
    private readonly world: World,
  ) {}

  async take(n: number): Promise<Population> {
    const base = this.world.scaleWorkspaces;
    if (n <= base.length) {
      const ids = base.slice(0, n);
      const set = new Set(ids);
      return {
        workspaceIds: ids,
        principals: this.world.principals
          .map((p) => ({ ...p, workspaceIds: p.workspaceIds.filter((w) => set.has(w)) }))
          .filter((p) => p.workspaceIds.length),
      };
    }
    while (base.length + this.extra.workspaceIds.length < n)
      await this.addTenant(Math.min(PER_TENANT, n - base.length - this.extra.workspaceIds.length));
    const all = await this.take(base.length);
    const extraIds = this.extra.workspaceIds.slice(0, n - base.length);
    const extraSet = new Set(extraIds);
    return {
      workspaceIds: [...all.workspaceIds, ...extraIds],
      principals: [
        ...all.principals,
        ...this.extra.principals
          .map((p) => ({ ...p, workspaceIds: p.workspaceIds.filter((w) => extraSet.has(w)) }))
          .filter((p) => p.workspaceIds.length),
      ],
    };
  }

  /** Several tenants at once: the control replica's CPU, not one tenant's audit chain, is then the limit. */
  async grow(n: number, parallelTenants = 6): Promise<void> {
    const missing = n - this.world.scaleWorkspaces.length - this.extra.workspaceIds.length;
    if (missing <= 0) return;
    const sizes = Array.from({ length: Math.ceil(missing / PER_TENANT) }, (_, i) =>
      Math.min(PER_TENANT, missing - i * PER_TENANT),
    );
    await mapLimit(sizes, parallelTenants, (size) => this.addTenant(size));
  }

  private async addTenant(size: number): Promise<void> {
    const { ctx } = this;
    const c = ctx.client;
    // unique even when several tenants are added at once (the mail reader finds an invitation by its recipient)
    const label = `scale-${(this.tenants += 1)}-${randomBytes(3).toString('hex')}`;
    const t = await ctx.onboard(label);
    const roleName = `keyhold-${label}`;
    const roleArn = await ctx.customer.createRole(roleName, t.trustedPrincipalArn, t.externalId);
    const keyArn = await ctx.customer.createKey(roleArn, roleName, {
      description: `keyhold benchmark CMK (${label})`,
      extraActions: BENCH_KEY_ACTIONS,
    });
    const kc = await c.registerAwsKeyConfiguration(t.token, t.tenantId, label, keyArn, roleArn);
    const ids = await mapLimit(
      Array.from({ length: size }, (_, i) => i),
      16,
      async (i) => {
        const id = await c.createWorkspace(t.token, t.tenantId, `${label}-ws-${i}`);
        await c.bindWorkspace(t.token, t.tenantId, id, kc);
        return id;
      },
    );
    for (let i = 0; i < ids.length; i += SCOPE_LIMIT) {
      const workspaceIds = ids.slice(i, i + SCOPE_LIMIT);
      const sp = await c.createServicePrincipal(t.token, t.tenantId, `${label}-svc-${i / SCOPE_LIMIT}`, workspaceIds);
      this.extra.principals.push({ clientId: sp.clientId, clientSecret: sp.clientSecret, workspaceIds });
    }
    this.extra.workspaceIds.push(...ids);
    ctx.log(
      `scaling: tenant ${label} with ${size} workspaces (population ${this.world.scaleWorkspaces.length + this.extra.workspaceIds.length})`,
    );
  }
}

/** One token per workspace of the population, issued by `client`'s replica (aligned with `workspaceIds`). */
export async function populationTokens(client: KeyholdClient, p: Population): Promise<string[]> {
  const byWs = await tokensByWorkspace(client, { principals: p.principals } as World);
  return p.workspaceIds.map((w) => {
    const t = byWs.get(w);
    if (!t) throw new Error(`no service principal covers workspace ${w}`);
    return t;
  });
}
