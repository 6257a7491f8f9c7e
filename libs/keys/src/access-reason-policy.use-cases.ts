import type { KeyUseBucket, KeyUsePoint, KeyUseReport } from '@app/audit';
import { ACCESS_REASONS, AccessReason, REASON_SLOT_NAMES } from './access-reasons';
import type { Actor } from './context';
import { DomainError, ErrorCode } from './errors';
import type { ServicePrincipalDeps } from './service-principal.use-cases';

/** The reasons in their canonical order, without duplicates (stored and audited that way). */
const canonical = (reasons: readonly AccessReason[]): AccessReason[] =>
  ACCESS_REASONS.filter((r) => reasons.includes(r));

export interface WorkspaceReasonPolicyView {
  readonly workspaceId: string;
  readonly deniedReasons: AccessReason[];
  readonly requireReason: boolean;
}

const policyView = (p: {
  workspaceId: string;
  deniedReasons: string[];
  requireReason: boolean;
}): WorkspaceReasonPolicyView => ({
  workspaceId: p.workspaceId,
  deniedReasons: canonical(p.deniedReasons as AccessReason[]),
  requireReason: p.requireReason,
});

const workspaceNotFound = () => new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
const principalNotFound = () => new DomainError(ErrorCode.ServicePrincipalNotFound, 'service principal not found');

/**
 * Publishes "these principals changed" after commit: every replica drops their cached DEK scope entries, which
 * carry the reason policy. A lost message is covered by the replicas' generation poll (the generations were
 * bumped in the change's transaction).
 */
async function broadcast(deps: ServicePrincipalDeps, tenantId: string, ids: readonly string[]): Promise<void> {
  await Promise.all(ids.map((id) => deps.principalInvalidator.servicePrincipalChanged(tenantId, id)));
}

export interface GetWorkspaceReasonPolicyCommand {
  readonly tenantId: string;
  readonly workspaceId: string;
}

export class GetWorkspaceReasonPolicy {
  constructor(private readonly deps: ServicePrincipalDeps) {}

  async execute({ tenantId, workspaceId }: GetWorkspaceReasonPolicyCommand): Promise<WorkspaceReasonPolicyView> {
    const p = await this.deps.repos.accessReasons.workspacePolicy(tenantId, workspaceId);
    if (!p) throw workspaceNotFound();
    return policyView(p);
  }
}

export interface SetWorkspaceReasonPolicyCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly input: { readonly deniedReasons: readonly AccessReason[]; readonly requireReason: boolean };
}

/**
 * The key admin sets which reasons a workspace refuses and whether every DEK request must give one. The change
 * and its audit record commit together; the principals scoped to the workspace are re-read on every replica.
 */
export class SetWorkspaceReasonPolicy {
  constructor(private readonly deps: ServicePrincipalDeps) {}

  async execute({ actor, tenantId, workspaceId, input }: SetWorkspaceReasonPolicyCommand) {
    const denied = canonical(input.deniedReasons);
    const { repos, audit } = this.deps;
    const { after, principals } = await repos.ds.transaction(async (m) => {
      const before = await repos.accessReasons.lockWorkspacePolicy(m, tenantId, workspaceId);
      if (!before) throw workspaceNotFound();
      await repos.accessReasons.setWorkspacePolicy(m, tenantId, workspaceId, denied, input.requireReason);
      const touched = await repos.accessReasons.touchScopedPrincipals(m, tenantId, workspaceId);
      const next = policyView({
        workspaceId: before.workspaceId,
        deniedReasons: denied,
        requireReason: input.requireReason,
      });
      const was = policyView(before);
      await audit.append(
        tenantId,
        {
          actor,
          action: 'workspace.access_reason_policy_changed',
          target: `workspace:${before.workspaceId}`,
          outcome: 'success',
          details: {
            from: { deniedReasons: was.deniedReasons, requireReason: was.requireReason },
            to: { deniedReasons: next.deniedReasons, requireReason: next.requireReason },
          },
        },
        m,
      );
      return { after: next, principals: touched };
    });
    await broadcast(this.deps, tenantId, principals);
    return after;
  }
}

export interface PrincipalReasonsView {
  readonly id: string;
  readonly allowedReasons: AccessReason[];
}

export interface GetPrincipalReasonsCommand {
  readonly tenantId: string;
  readonly principalId: string;
}

export class GetPrincipalReasons {
  constructor(private readonly deps: ServicePrincipalDeps) {}

  async execute({ tenantId, principalId }: GetPrincipalReasonsCommand): Promise<PrincipalReasonsView> {
    const r = await this.deps.repos.accessReasons.principalReasons(this.deps.repos.ds, tenantId, principalId);
    if (!r) throw principalNotFound();
    return { id: principalId, allowedReasons: canonical(r as AccessReason[]) };
  }
}

export interface SetPrincipalReasonsCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly principalId: string;
  readonly allowed: readonly AccessReason[];
}

/** The key admin sets the reasons a service principal may give (audited in the change's transaction). */
export class SetPrincipalReasons {
  constructor(private readonly deps: ServicePrincipalDeps) {}

  async execute({ actor, tenantId, principalId, allowed }: SetPrincipalReasonsCommand): Promise<PrincipalReasonsView> {
    const reasons = canonical(allowed);
    const { repos, audit } = this.deps;
    await repos.ds.transaction(async (m) => {
      if (!(await repos.servicePrincipals.lockForChange(m, tenantId, principalId))) throw principalNotFound();
      const before = canonical(
        ((await repos.accessReasons.principalReasons(m, tenantId, principalId)) ?? []) as AccessReason[],
      );
      await repos.accessReasons.setPrincipalReasons(m, tenantId, principalId, reasons);
      await audit.append(
        tenantId,
        {
          actor,
          action: 'service_principal.access_reasons_changed',
          target: `service_principal:${principalId}`,
          outcome: 'success',
          details: { from: before, to: reasons },
        },
        m,
      );
    });
    await broadcast(this.deps, tenantId, [principalId]);
    return { id: principalId, allowedReasons: reasons };
  }
}

/** Longest period each bucket size may cover (bounds the answer: at most about 1,500 buckets × 7 reasons). */
const MAX_SPAN_MS: Record<KeyUseBucket, number> = {
  minute: 24 * 3_600_000,
  hour: 62 * 86_400_000,
  day: 366 * 86_400_000,
};

export interface KeyUseByReasonView {
  readonly workspaceId: string | null;
  readonly bucket: KeyUseBucket;
  readonly from: string;
  readonly to: string;
  readonly reasons: readonly string[];
  readonly points: KeyUsePoint[];
}

export interface GetKeyUseByReasonCommand {
  readonly tenantId: string;
  readonly query: {
    readonly workspaceId?: string;
    readonly from?: Date;
    readonly to?: Date;
    readonly bucket: KeyUseBucket;
  };
}

/** Key use by reason over time, for the tenant or one of its workspaces (key admins and auditors read). */
export class GetKeyUseByReason {
  constructor(
    private readonly deps: ServicePrincipalDeps,
    private readonly report: KeyUseReport,
  ) {}

  async execute({ tenantId, query: q }: GetKeyUseByReasonCommand): Promise<KeyUseByReasonView> {
    const to = q.to ?? new Date();
    const from =
      q.from ??
      new Date(to.getTime() - (q.bucket === 'minute' ? 3_600_000 : q.bucket === 'hour' ? 86_400_000 : 30 * 86_400_000));
    if (!(from.getTime() < to.getTime())) throw new DomainError(ErrorCode.ValidationFailed, 'from must be before to');
    if (to.getTime() - from.getTime() > MAX_SPAN_MS[q.bucket])
      throw new DomainError(
        ErrorCode.ValidationFailed,
        `a ${q.bucket} bucket covers at most ${MAX_SPAN_MS[q.bucket] / 86_400_000} days; choose a larger bucket`,
      );
    if (q.workspaceId && !(await this.deps.repos.accessReasons.workspacePolicy(tenantId, q.workspaceId)))
      throw workspaceNotFound();
    const points = await this.report.byReason(tenantId, { workspaceId: q.workspaceId, from, to, bucket: q.bucket });
    return {
      workspaceId: q.workspaceId ?? null,
      bucket: q.bucket,
      from: from.toISOString(),
      to: to.toISOString(),
      reasons: REASON_SLOT_NAMES,
      points,
    };
  }
}

/** The access-justification use cases, built together (one line in each process's composition root). */
export function accessReasonUseCases(deps: ServicePrincipalDeps, report: KeyUseReport) {
  return {
    getWorkspacePolicy: new GetWorkspaceReasonPolicy(deps),
    setWorkspacePolicy: new SetWorkspaceReasonPolicy(deps),
    getPrincipalReasons: new GetPrincipalReasons(deps),
    setPrincipalReasons: new SetPrincipalReasons(deps),
    keyUse: new GetKeyUseByReason(deps, report),
  };
}
export type AccessReasonUseCases = ReturnType<typeof accessReasonUseCases>;
