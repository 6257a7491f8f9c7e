import type { AuditLog } from '@app/audit';
import { AuthError } from '@app/auth';
import type { Repositories } from '@app/persistence';
import { isUuid } from '@app/persistence';
import type { Actor } from './context';
import { isSegmentId } from './dek-service';
import { DomainError, ErrorCode } from './errors';

/** Service principal permissions. Every principal may fetch; destroying a segment must be granted by a key admin. */
export const SERVICE_PERMISSIONS = ['dek:fetch', 'dek:destroy'] as const;
export type ServicePermission = (typeof SERVICE_PERMISSIONS)[number];
export const DEFAULT_SERVICE_PERMISSIONS: readonly ServicePermission[] = ['dek:fetch'];

/** Carries a segment destroy to every replica's DEK cache (the KEK invalidation bus). */
export interface SegmentInvalidator {
  destroySegment(tenantId: string, workspaceId: string, segmentId: string, cacheVersion: number): Promise<void>;
}

export type DestroyedBy = { kind: 'admin'; id: string } | { kind: 'service'; id: string };

export interface DestroySegmentCommand {
  readonly by: DestroyedBy;
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly segmentId: string;
}

/**
 * Segment-level crypto-shred (right to be forgotten at the DEK layer): the segment's wrapped DEK row is deleted,
 * a tombstone (segment, when, who) stays so the id is never issued again, every replica drops its cached row
 * (pub/sub at once, the segment_epoch poll as the bound for a lost message), audited and counted per principal.
 * Idempotent: destroying a destroyed (or never issued) segment succeeds and leaves it dead.
 */
export class DestroySegment {
  constructor(
    private readonly repos: Repositories,
    private readonly audit: AuditLog,
    private readonly invalidator: SegmentInvalidator,
    private readonly counted: (actor: Actor, outcome: 'destroyed' | 'already_gone') => void,
    private readonly onInvalidationError: (err: unknown) => void = () => undefined,
  ) {}

  async execute({ by, tenantId, workspaceId, segmentId }: DestroySegmentCommand): Promise<void> {
    if (!isUuid(workspaceId)) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    workspaceId = workspaceId.toLowerCase();
    if (!isSegmentId(segmentId))
      throw new DomainError(
        ErrorCode.ValidationFailed,
        'segment ids are 1-256 printable ASCII characters without spaces',
      );
    const actor: Actor = `${by.kind}:${by.id}`;
    if (by.kind === 'service') {
      const rights = await this.repos.segments.principalRights(tenantId, by.id, workspaceId);
      // Outside the principal's scope looks exactly like a workspace that does not exist (as on the fetch path).
      if (!rights?.inScope) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
      if (!rights.permissions.includes('dek:destroy'))
        throw new AuthError('FORBIDDEN', 'this service principal lacks the dek:destroy permission');
    }
    const r = await this.repos.segments.destroy(tenantId, workspaceId, segmentId, actor);
    if (!r) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    // The row is gone already; a failed publish is covered by the fallback poll (segment_epoch moved).
    await this.invalidator
      .destroySegment(tenantId, workspaceId, segmentId, r.cacheVersion)
      .catch(this.onInvalidationError);
    await this.audit.append(tenantId, {
      actor,
      action: 'segment.destroyed',
      target: `workspace:${workspaceId}`,
      outcome: 'success',
      details: { segmentId, dekDeleted: r.deleted, firstDestroy: r.tombstoned },
    });
    this.counted(actor, r.deleted ? 'destroyed' : 'already_gone');
  }
}

export interface SetServicePrincipalPermissionsCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly servicePrincipalId: string;
  readonly permissions: readonly ServicePermission[];
}

/** The key admin sets a service principal's permissions (dek:fetch is always kept: a principal exists to fetch). */
export class SetServicePrincipalPermissions {
  constructor(
    private readonly repos: Repositories,
    private readonly audit: AuditLog,
  ) {}

  async execute({
    actor,
    tenantId,
    servicePrincipalId,
    permissions,
  }: SetServicePrincipalPermissionsCommand): Promise<{ id: string; permissions: string[] }> {
    const wanted = [...new Set<string>([...DEFAULT_SERVICE_PERMISSIONS, ...permissions])].sort();
    const stored = await this.repos.segments.setPermissions(tenantId, servicePrincipalId, wanted);
    if (!stored) throw new DomainError(ErrorCode.NotFound, 'service principal not found');
    await this.audit.append(tenantId, {
      actor,
      action: 'service_principal.permissions_changed',
      target: `service_principal:${servicePrincipalId}`,
      outcome: 'success',
      details: { permissions: stored },
    });
    return { id: servicePrincipalId, permissions: stored };
  }
}
