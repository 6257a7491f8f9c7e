import { randomUUID } from 'node:crypto';
import { CLIENT_SECRET_HASH_PARAMS, hashSecret } from '@app/auth';
import { newClientId, newClientSecret, newExternalId } from '@app/crypto';
import type { Actor, KeysDeps } from './context';
import { DEFAULT_SERVICE_PERMISSIONS, ServicePermission } from './segment-shred.use-case';
import type { CreateInvitation } from './credentials.use-cases';
import { DomainError, ErrorCode } from './errors';
import { tenantView } from './views';

export interface CreateTenantCommand {
  readonly actor: Actor;
  readonly input: { readonly name: string; readonly admin: { readonly email: string } };
}

/**
 * Operator: a tenant with its own ExternalId (CSPRNG, never client-supplied) and an invitation for its first key
 * admin, mailed to that admin. The operator never sets or sees a password or the invitation's link: the answer
 * names the invitation (id, recipient, expiry) only, so nothing the operator saw can act inside the tenant.
 */
export class CreateTenant {
  constructor(
    private readonly deps: KeysDeps,
    private readonly invite: CreateInvitation,
  ) {}

  async execute({ actor, input }: CreateTenantCommand) {
    const id = randomUUID();
    const { tenant, invitation } = await this.deps.repos.ds.transaction(async (m) => {
      const t = await this.deps.repos.tenants.insert(m, { id, name: input.name, externalId: newExternalId() });
      // Tenant, invitation and their audit records commit together, and only if the invitation email was handed
      // over: tenant.created, then invitation.created.
      const inv = await this.invite.withinTransaction(
        { actor, tenantId: id, input: { email: input.admin.email, role: 'key_admin' } },
        m,
      );
      await this.deps.audit.append(
        id,
        {
          actor,
          action: 'tenant.created',
          target: `tenant:${id}`,
          outcome: 'success',
          details: { name: input.name, adminEmail: inv.email },
        },
        m,
      );
      await this.deps.audit.append(
        id,
        {
          actor,
          action: 'invitation.created',
          target: `invitation:${inv.id}`,
          outcome: 'success',
          details: { email: inv.email, role: inv.role },
        },
        m,
      );
      return { tenant: t, invitation: inv };
    });
    return { ...tenantView(tenant, this.deps.registry), invitation };
  }
}

export interface GetTenantCommand {
  readonly tenantId: string;
}

export class GetTenant {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ tenantId }: GetTenantCommand) {
    const t = await this.deps.repos.tenants.findById(tenantId);
    if (!t) throw new DomainError(ErrorCode.TenantNotFound, 'tenant not found');
    return tenantView(t, this.deps.registry);
  }
}

export interface CreateServicePrincipalCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly input: {
    readonly name: string;
    readonly workspaceIds: readonly string[];
    readonly permissions?: readonly ServicePermission[];
  };
}

/**
 * A service principal for the internal DEK API, scoped to named workspaces of the tenant. The secret is
 * returned once and stored only as a hash (scrypt with lighter parameters: it is a 256-bit random value, so
 * memory-hardness buys nothing and every token request pays for it).
 */
export class CreateServicePrincipal {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ actor, tenantId, input }: CreateServicePrincipalCommand) {
    const workspaceIds = [...new Set(input.workspaceIds)];
    const permissions = [...new Set<string>([...DEFAULT_SERVICE_PERMISSIONS, ...(input.permissions ?? [])])].sort();
    if ((await this.deps.repos.workspaces.countExisting(tenantId, workspaceIds)) !== workspaceIds.length)
      throw new DomainError(ErrorCode.WorkspaceNotFound, 'one or more workspaceIds do not exist');
    const id = randomUUID();
    const clientId = newClientId();
    const clientSecret = newClientSecret();
    const secretHash = await hashSecret(clientSecret, CLIENT_SECRET_HASH_PARAMS);
    await this.deps.repos.ds.transaction(async (m) => {
      await this.deps.repos.servicePrincipals.insert(
        m,
        tenantId,
        { id, name: input.name, clientId, secretHash, permissions },
        workspaceIds,
      );
      await this.deps.audit.append(
        tenantId,
        {
          actor,
          action: 'service_principal.created',
          target: `service_principal:${id}`,
          outcome: 'success',
          details: { name: input.name, clientId, workspaceIds, permissions },
        },
        m,
      );
    });
    return { id, name: input.name, clientId, clientSecret, workspaceIds, permissions };
  }
}
