import { randomUUID } from 'node:crypto';
import { hashSecret } from '@app/auth';
import { newClientSecret } from '@app/crypto';
import type { ServicePrincipalChange, ServicePrincipalSummary } from '@app/persistence';
import type { Actor, KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';

/**
 * Tells every API replica that a principal changed, after the change has committed (the replicas then forget the
 * principal's cached token state and DEK scope). Must not throw: a missed message is covered by the replicas' poll.
 */
export interface PrincipalInvalidator {
  servicePrincipalChanged(tenantId: string, principalId: string): Promise<void>;
}

export interface ServicePrincipalDeps extends KeysDeps {
  readonly principalInvalidator: PrincipalInvalidator;
}

/** Longest overlap a rotation may give the previous secret: long enough for a staged roll-out, short enough to end. */
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 86_400;

const notFound = () => new DomainError(ErrorCode.ServicePrincipalNotFound, 'service principal not found');

/** Same hash parameters as at creation: the secret is 256 random bits, so memory-hardness buys nothing. */
const hashClientSecret = (secret: string) => hashSecret(secret, { N: 2 ** 12 });

export interface GetServicePrincipalCommand {
  readonly tenantId: string;
  readonly id: string;
}

export class GetServicePrincipal {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ tenantId, id }: GetServicePrincipalCommand) {
    const sp = await this.deps.repos.servicePrincipals.get(tenantId, id);
    if (!sp) throw notFound();
    return sp;
  }
}

export interface UpdateServicePrincipalCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly id: string;
  readonly change: ServicePrincipalChange;
}

/**
 * Disable/enable, rename, change the workspace scope (every id must be a workspace of the tenant), the source
 * address allow-list or the client certificate the principal is bound to (a fingerprint: public, audited as is). Any change is broadcast: narrowing the scope or disabling takes effect on every replica.
 */
export class UpdateServicePrincipal {
  constructor(private readonly deps: ServicePrincipalDeps) {}

  async execute({ actor, tenantId, id, change }: UpdateServicePrincipalCommand) {
    const c: ServicePrincipalChange = change.workspaceIds
      ? { ...change, workspaceIds: [...new Set(change.workspaceIds)] }
      : change;
    const { repos } = this.deps;
    const before = await repos.servicePrincipals.get(tenantId, id);
    if (!before) throw notFound();
    await repos.ds.transaction(async (m) => {
      if (!(await repos.servicePrincipals.lockForChange(m, tenantId, id))) throw notFound();
      if (c.workspaceIds && (await repos.workspaces.countExisting(tenantId, c.workspaceIds)) !== c.workspaceIds.length)
        throw new DomainError(ErrorCode.WorkspaceNotFound, 'one or more workspaceIds do not exist');
      await repos.servicePrincipals.applyChange(m, tenantId, id, c);
    });
    await this.deps.principalInvalidator.servicePrincipalChanged(tenantId, id);
    const after = (await repos.servicePrincipals.get(tenantId, id)) ?? before;
    await this.deps.audit.append(tenantId, {
      actor,
      action: 'service_principal.updated',
      target: `service_principal:${id}`,
      outcome: 'success',
      details: { changed: Object.keys(c).sort(), ...changes(before, after) },
    });
    return after;
  }
}

/** Only what changed, as before → after (names, flags, ids and CIDRs: nothing secret). */
function changes(before: ServicePrincipalSummary, after: ServicePrincipalSummary): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['name', 'disabled', 'workspaceIds', 'ipAllowList', 'clientCertificateSha256'] as const)
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out[k] = { from: before[k], to: after[k] };
  return out;
}

export interface DeleteServicePrincipalCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly id: string;
}

export class DeleteServicePrincipal {
  constructor(private readonly deps: ServicePrincipalDeps) {}

  async execute({ actor, tenantId, id }: DeleteServicePrincipalCommand): Promise<void> {
    const sp = await this.deps.repos.servicePrincipals.get(tenantId, id);
    if (!sp || !(await this.deps.repos.servicePrincipals.delete(this.deps.repos.ds, tenantId, id))) throw notFound();
    await this.deps.principalInvalidator.servicePrincipalChanged(tenantId, id);
    await this.deps.audit.append(tenantId, {
      actor,
      action: 'service_principal.deleted',
      target: `service_principal:${id}`,
      outcome: 'success',
      details: { name: sp.name, clientId: sp.clientId },
    });
  }
}

export interface RotateServicePrincipalSecretCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly id: string;
  readonly overlapSeconds: number;
}

/**
 * A new client secret, returned once. The previous secret keeps working for `overlapSeconds` (the admin's
 * choice, 0 = stops now) so services can be rolled over without downtime; a secret already winding down from an
 * earlier rotation stops now, so at most two are ever live. Tokens issued for a secret stop when it does.
 */
export class RotateServicePrincipalSecret {
  constructor(private readonly deps: ServicePrincipalDeps) {}

  async execute({ actor, tenantId, id, overlapSeconds }: RotateServicePrincipalSecretCommand) {
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_SECRET_OVERLAP_SECONDS)
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `overlapSeconds must be an integer from 0 to ${MAX_SECRET_OVERLAP_SECONDS}`,
      );
    const { repos } = this.deps;
    const sp = await repos.servicePrincipals.get(tenantId, id);
    if (!sp) throw notFound();
    const clientSecret = newClientSecret();
    const secret = { id: randomUUID(), hash: await hashClientSecret(clientSecret) };
    const previousEnd = await repos.ds.transaction(async (m) => {
      if (!(await repos.servicePrincipals.lockForChange(m, tenantId, id))) throw notFound();
      return repos.servicePrincipals.rotateSecret(m, tenantId, id, secret, overlapSeconds);
    });
    await this.deps.principalInvalidator.servicePrincipalChanged(tenantId, id);
    const previousSecretsExpireAt = previousEnd ? previousEnd.toISOString() : null;
    await this.deps.audit.append(tenantId, {
      actor,
      action: 'service_principal.secret_rotated',
      target: `service_principal:${id}`,
      outcome: 'success',
      details: { secretId: secret.id, overlapSeconds, previousSecretsExpireAt },
    });
    return { id, clientId: sp.clientId, secretId: secret.id, clientSecret, previousSecretsExpireAt };
  }
}

export interface RevokeServicePrincipalSecretCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly id: string;
  readonly secretId: string;
}

/** Revoke one secret now: it stops issuing tokens and the tokens it issued stop on every replica. */
export class RevokeServicePrincipalSecret {
  constructor(private readonly deps: ServicePrincipalDeps) {}

  async execute({ actor, tenantId, id, secretId }: RevokeServicePrincipalSecretCommand): Promise<void> {
    const { repos } = this.deps;
    await repos.ds.transaction(async (m) => {
      if (!(await repos.servicePrincipals.lockForChange(m, tenantId, id))) throw notFound();
      if (!(await repos.servicePrincipals.deleteSecret(m, tenantId, id, secretId)))
        throw new DomainError(ErrorCode.SecretNotFound, 'secret not found');
    });
    await this.deps.principalInvalidator.servicePrincipalChanged(tenantId, id);
    await this.deps.audit.append(tenantId, {
      actor,
      action: 'service_principal.secret_revoked',
      target: `service_principal:${id}`,
      outcome: 'success',
      details: { secretId },
    });
  }
}
