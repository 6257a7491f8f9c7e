import { randomUUID } from 'node:crypto';
import { hashSecret } from '@app/auth';
import { newClientId, newClientSecret, newExternalId } from '@app/crypto';
import { AdminRole, pgCode } from '@app/persistence';
import type { Actor, KeysDeps } from './context';
import { DEFAULT_SERVICE_PERMISSIONS, ServicePermission } from './segment-shred.use-case';
import { DomainError, ErrorCode } from './errors';
import { tenantView } from './views';

/** Operator: a tenant with its own ExternalId (CSPRNG, never client-supplied) and its first key admin. */
export class CreateTenant {
  constructor(private readonly deps: KeysDeps) {}

  async execute(actor: Actor, input: { name: string; admin: { email: string; password: string } }) {
    const id = randomUUID();
    const passwordHash = await hashSecret(input.admin.password);
    const tenant = await this.deps.repos.ds.transaction(async (m) => {
      const t = await this.deps.repos.tenants.insert(m, { id, name: input.name, externalId: newExternalId() });
      await this.deps.repos.adminUsers.insert(m, id, { id: randomUUID(), email: input.admin.email.toLowerCase(), passwordHash, role: 'key_admin' });
      await this.deps.audit.append(id, { actor, action: 'tenant.created', target: `tenant:${id}`, outcome: 'success', details: { name: input.name, adminEmail: input.admin.email.toLowerCase() } }, m);
      return t;
    });
    return tenantView(tenant, this.deps.registry);
  }
}

export class GetTenant {
  constructor(private readonly deps: KeysDeps) {}

  async execute(tenantId: string) {
    const t = await this.deps.repos.tenants.findById(tenantId);
    if (!t) throw new DomainError(ErrorCode.TenantNotFound, 'tenant not found');
    return tenantView(t, this.deps.registry);
  }
}

/** Key admin adds another admin user (e.g. an auditor: read-only, separation of duties). */
export class CreateAdminUser {
  constructor(private readonly deps: KeysDeps) {}

  async execute(actor: Actor, tenantId: string, input: { email: string; password: string; role: AdminRole }) {
    const id = randomUUID();
    const email = input.email.toLowerCase();
    const passwordHash = await hashSecret(input.password);
    try {
      await this.deps.repos.ds.transaction(async (m) => {
        await this.deps.repos.adminUsers.insert(m, tenantId, { id, email, passwordHash, role: input.role });
        await this.deps.audit.append(tenantId, { actor, action: 'admin_user.created', target: `admin_user:${id}`, outcome: 'success', details: { email, role: input.role } }, m);
      });
    } catch (err) {
      if (pgCode(err) === '23505') throw new DomainError(ErrorCode.NameTaken, 'a user with this email already exists');
      throw err;
    }
    return { id, email, role: input.role };
  }
}

/**
 * A service principal for the internal DEK API, scoped to named workspaces of the tenant. The secret is
 * returned once and stored only as a hash (scrypt with lighter parameters: it is a 256-bit random value, so
 * memory-hardness buys nothing and every token request pays for it).
 */
export class CreateServicePrincipal {
  constructor(private readonly deps: KeysDeps) {}

  async execute(actor: Actor, tenantId: string, input: { name: string; workspaceIds: string[]; permissions?: readonly ServicePermission[] }) {
    const workspaceIds = [...new Set(input.workspaceIds)];
    const permissions = [...new Set<string>([...DEFAULT_SERVICE_PERMISSIONS, ...(input.permissions ?? [])])].sort();
    if ((await this.deps.repos.workspaces.countExisting(tenantId, workspaceIds)) !== workspaceIds.length)
      throw new DomainError(ErrorCode.WorkspaceNotFound, 'one or more workspaceIds do not exist');
    const id = randomUUID();
    const clientId = newClientId();
    const clientSecret = newClientSecret();
    const secretHash = await hashSecret(clientSecret, { N: 2 ** 12 });
    await this.deps.repos.ds.transaction(async (m) => {
      await this.deps.repos.servicePrincipals.insert(m, tenantId, { id, name: input.name, clientId, secretHash, permissions }, workspaceIds);
      await this.deps.audit.append(
        tenantId,
        { actor, action: 'service_principal.created', target: `service_principal:${id}`, outcome: 'success', details: { name: input.name, clientId, workspaceIds, permissions } },
        m,
      );
    });
    return { id, name: input.name, clientId, clientSecret, workspaceIds, permissions };
  }
}
