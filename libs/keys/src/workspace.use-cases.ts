import { randomUUID } from 'node:crypto';
import { generateKek, kcv } from '@app/crypto';
import { OperationKind, REQUESTABLE_KINDS } from '@app/jobs';
import type { KeyStateName, WorkspaceRow } from '@app/persistence';
import { kekWrapContext, ProviderError } from '@app/provider-port';
import type { Actor, KeysDeps } from './context';
import { DomainError, ErrorCode } from './errors';
import { operationView, workspaceView } from './views';

export interface CreateWorkspaceCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly input: { readonly name: string };
}

export class CreateWorkspace {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ actor, tenantId, input }: CreateWorkspaceCommand) {
    const w = await this.deps.repos.ds.transaction(async (m) => {
      const created = await this.deps.repos.workspaces.insert(tenantId, { id: randomUUID(), name: input.name }, m);
      await this.deps.audit.append(
        tenantId,
        {
          actor,
          action: 'workspace.created',
          target: `workspace:${created.id}`,
          outcome: 'success',
          details: { name: input.name },
        },
        m,
      );
      return created;
    });
    return workspaceView(w);
  }
}

export interface GetWorkspaceCommand {
  readonly tenantId: string;
  readonly id: string;
}

export class GetWorkspace {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ tenantId, id }: GetWorkspaceCommand) {
    const w = await this.deps.repos.workspaces.findById(tenantId, id);
    if (!w) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    return workspaceView(w);
  }
}

const STALE_PROVISIONING_MS = 120_000;

export type BindResult =
  { kind: 'bound'; workspace: ReturnType<typeof workspaceView> } | { kind: 'rekey'; operationId: string };

export interface BindWorkspaceCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly keyConfigurationId: string;
}

/**
 * PUT key-binding.
 * First binding: unbound → provisioning → active. A fresh KEK is wrapped under the customer key with its
 * context, verified by unwrapping it back and checking the KCV, stored as version 1, and only then does the
 * workspace become active. Any failure returns the workspace to unbound.
 * Re-binding to another configuration: a durable `rekey` operation (202) that the worker executes.
 */
export class BindWorkspace {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ actor, tenantId, workspaceId, keyConfigurationId }: BindWorkspaceCommand): Promise<BindResult> {
    const { repos } = this.deps;
    const w = await repos.workspaces.findById(tenantId, workspaceId);
    if (!w) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    if (w.keyState === 'destroyed')
      throw new DomainError(
        ErrorCode.DestroyedWorkspaceNotBindable,
        'the workspace was destroyed; a destroyed workspace can never be bound again',
      );
    const kc = await repos.keyConfigurations.findById(tenantId, keyConfigurationId);
    if (!kc) throw new DomainError(ErrorCode.KeyConfigurationNotFound, 'key configuration not found');
    if (kc.status !== 'valid')
      throw new DomainError(
        ErrorCode.KeyConfigurationInvalid,
        'the key configuration did not pass validation; fix it and validate again before binding',
      );

    // A bind that died mid-way (process crash) leaves `provisioning` behind with no KEK stored: after a grace
    // period longer than any bind takes, it may start over. The KEK PK (workspace, version 1) still prevents
    // two binds from both storing a KEK.
    const stale = w.keyState === 'provisioning' && Date.now() - new Date(w.updatedAt).getTime() > STALE_PROVISIONING_MS;
    if (w.keyState !== 'unbound' && !stale) return this.rebind(actor, w, keyConfigurationId);

    const provisioning = await repos.workspaces.transition(repos.ds, tenantId, workspaceId, {
      from: [w.keyState],
      to: 'provisioning',
      expectedVersion: w.stateVersion,
    });
    if (!provisioning) throw new DomainError(ErrorCode.WorkspaceBusy, 'the workspace changed while binding; retry');

    const tenant = (await repos.tenants.findById(tenantId))!;
    const binding = this.deps.registry.binding(kc.provider);
    const config = binding.bindTenant(kc.config, tenant);
    const ctx = kekWrapContext({ tenantId, workspaceId, keyConfigurationId, kekVersion: 1 });
    const kek = generateKek();
    try {
      const wrapped = await binding.provider.wrap(config, kek, ctx);
      const back = await binding.provider.unwrap(config, wrapped, ctx);
      const same = back.equals(kek);
      back.fill(0);
      if (!same)
        throw new DomainError(
          ErrorCode.KeyIntegrity,
          'the customer key returned a different KEK on unwrap; binding aborted',
        );
      const check = kcv(kek);
      const bound = await repos.ds.transaction(async (m) => {
        await repos.keks.insert(m, tenantId, {
          workspaceId,
          version: 1,
          keyConfigurationId,
          wrapped: wrapped.ciphertext,
          providerKeyVersion: wrapped.keyVersion,
          kcv: check,
          state: 'active',
        });
        const done = await repos.workspaces.transition(m, tenantId, workspaceId, {
          from: ['provisioning'],
          to: 'active',
          keyConfigurationId,
          currentKekVersion: 1,
          degraded: false,
        });
        if (!done) throw new DomainError(ErrorCode.WorkspaceBusy, 'the workspace changed while binding; retry');
        await this.deps.audit.append(
          tenantId,
          {
            actor,
            action: 'workspace.bound',
            target: `workspace:${workspaceId}`,
            outcome: 'success',
            details: {
              keyConfigurationId,
              kekVersion: 1,
              from: 'unbound',
              to: 'active',
              providerKeyVersion: wrapped.keyVersion,
            },
          },
          m,
        );
        return done;
      });
      await this.deps.kekInvalidator.invalidateWorkspace(tenantId, workspaceId);
      return { kind: 'bound', workspace: workspaceView(bound) };
    } catch (err) {
      // The return to unbound and its record commit together; if they cannot, the workspace stays provisioning
      // (a later bind starts over after the stale period) and the database error is what the caller sees.
      await repos.ds.transaction(async (m) => {
        await repos.workspaces.transition(m, tenantId, workspaceId, { from: ['provisioning'], to: 'unbound' });
        await this.deps.audit.append(
          tenantId,
          {
            actor,
            action: 'workspace.bound',
            target: `workspace:${workspaceId}`,
            outcome: 'failure',
            details: {
              keyConfigurationId,
              reason: err instanceof ProviderError ? err.errorClass : err instanceof DomainError ? err.code : 'error',
            },
          },
          m,
        );
      });
      if (err instanceof ProviderError)
        throw new DomainError(
          err.transient ? ErrorCode.KmsUnavailable : ErrorCode.KmsRefused,
          `the customer key could not wrap the workspace key: ${binding.provider.explain(err, 'bind', config)}`,
          err.transient ? 5 : undefined,
        );
      throw err;
    } finally {
      kek.fill(0);
    }
  }

  private async rebind(actor: Actor, w: WorkspaceRow, keyConfigurationId: string): Promise<BindResult> {
    if (w.keyState === 'active' && w.keyConfigurationId === keyConfigurationId)
      return { kind: 'bound', workspace: workspaceView(w) };
    const allowed: KeyStateName[] = ['active', 'rekeying'];
    if (!allowed.includes(w.keyState))
      throw new DomainError(
        ErrorCode.WorkspaceBusy,
        `the workspace is ${w.keyState}; re-binding is possible once it is active`,
      );
    const op = await createAndDispatch(this.deps, actor, w.tenantId, w.id, OperationKind.Rekey, keyConfigurationId);
    return { kind: 'rekey', operationId: op.id };
  }
}

export async function createAndDispatch(
  deps: KeysDeps,
  actor: Actor,
  tenantId: string,
  workspaceId: string,
  kind: OperationKind,
  targetKeyConfigurationId?: string,
) {
  // The operation row and its record commit together, before the job exists (a job never runs unrecorded).
  const { operation } = await deps.repos.ds.transaction(async (m) => {
    const r = await deps.repos.operations.createOrGetUnfinished(
      tenantId,
      {
        id: randomUUID(),
        workspaceId,
        kind,
        targetKeyConfigurationId: targetKeyConfigurationId ?? null,
        requestedBy: actor,
      },
      m,
    );
    if (r.created)
      await deps.audit.append(
        tenantId,
        {
          actor,
          action: `operation.requested`,
          target: `workspace:${workspaceId}`,
          outcome: 'success',
          details: {
            operationId: r.operation.id,
            kind,
            ...(targetKeyConfigurationId ? { targetKeyConfigurationId } : {}),
          },
        },
        m,
      );
    return r;
  });
  // Dispatch even when the operation already existed: jobId = operation id makes it idempotent, and it
  // re-enqueues an operation whose job was lost.
  await deps.dispatcher.dispatch(kind, { operationId: operation.id, tenantId });
  return operation;
}

/** Narrows a requested kind to the operation kinds an admin may request. */
const isRequestable = (kind: string): kind is (typeof REQUESTABLE_KINDS)[number] =>
  (REQUESTABLE_KINDS as readonly string[]).includes(kind);

/** Which states each requested operation may start from. */
const ALLOWED_FROM: Record<string, readonly KeyStateName[]> = {
  [OperationKind.CmkRewrap]: ['active', 'rewrapping'],
  [OperationKind.KekRotation]: ['active', 'kek_rotating', 'access_suspect'],
  [OperationKind.RevocationCheck]: ['active', 'rewrapping', 'rekeying', 'kek_rotating', 'access_suspect', 'shredded'],
  [OperationKind.Reinstate]: ['shredded', 'access_suspect'],
};

export interface RequestOperationCommand {
  readonly actor: Actor;
  readonly tenantId: string;
  readonly workspaceId: string;
  /** cmk-rewrap, kek-rotation, revocation-check or reinstate; anything else is a 400. */
  readonly kind: string;
}

export class RequestOperation {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ actor, tenantId, workspaceId, kind }: RequestOperationCommand) {
    if (!isRequestable(kind))
      throw new DomainError(ErrorCode.ValidationFailed, `kind must be one of ${REQUESTABLE_KINDS.join(', ')}`);
    const w = await this.deps.repos.workspaces.findById(tenantId, workspaceId);
    if (!w) throw new DomainError(ErrorCode.WorkspaceNotFound, 'workspace not found');
    if (w.keyState === 'destroyed') throw new DomainError(ErrorCode.WorkspaceDestroyed, 'the workspace was destroyed');
    if (w.keyState === 'unbound' || w.keyState === 'provisioning')
      throw new DomainError(ErrorCode.WorkspaceUnbound, 'the workspace is not bound to a key configuration yet');
    if (!ALLOWED_FROM[kind].includes(w.keyState))
      throw new DomainError(
        ErrorCode.OperationNotAllowed,
        `${kind} is not possible while the workspace is ${w.keyState}`,
      );
    const op = await createAndDispatch(this.deps, actor, tenantId, workspaceId, kind);
    return { operationId: op.id };
  }
}

export interface RequestRevocationCheckCommand {
  readonly tenantId: string;
  readonly workspaceId: string;
}

/** Platform-triggered revocation check after a revocation-class failure on unwrap (de-duplicated). */
export class RequestRevocationCheck {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ tenantId, workspaceId }: RequestRevocationCheckCommand): Promise<string> {
    const op = await createAndDispatch(this.deps, 'keyhold', tenantId, workspaceId, OperationKind.RevocationCheck);
    return op.id;
  }
}

export interface GetOperationCommand {
  readonly tenantId: string;
  readonly operationId: string;
}

export class GetOperation {
  constructor(private readonly deps: KeysDeps) {}

  async execute({ tenantId, operationId }: GetOperationCommand) {
    const o = await this.deps.repos.operations.find(tenantId, operationId);
    if (!o) throw new DomainError(ErrorCode.OperationNotFound, 'operation not found');
    return operationView(o);
  }
}
