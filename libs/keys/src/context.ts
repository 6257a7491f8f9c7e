import type { AuditLog } from '@app/audit';
import type { BulkJobData, OperationJobData, OperationKind } from '@app/jobs';
import type { Repositories } from '@app/persistence';
import type { ProviderRegistry } from './provider-registry';

/** Who is acting, as the audit log names them: `operator`, `admin:<id>`, `service:<id>`, `keyhold`. */
export type Actor = string;

export interface Dispatcher {
  dispatch(kind: OperationKind, data: OperationJobData): Promise<void>;
  /** Enqueue the worker's job for a committed bulk operation (idempotent per bulk operation). */
  dispatchBulk(data: BulkJobData): Promise<void>;
}

export interface KekInvalidator {
  invalidateWorkspace(tenantId: string, workspaceId: string): Promise<void>;
  /** Drop the workspace's plaintext KEKs and cached state/rows here and on every replica (pub/sub + poll). */
  shredWorkspace(tenantId: string, workspaceId: string): Promise<void>;
}

/** What the use cases need; composed once by each process (API, worker). */
export interface KeysDeps {
  readonly repos: Repositories;
  readonly registry: ProviderRegistry;
  readonly audit: AuditLog;
  readonly dispatcher: Dispatcher;
  readonly kekInvalidator: KekInvalidator;
}
