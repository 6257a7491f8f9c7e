/**
 * Job contracts shared by the API (which dispatches) and the worker (which processes).
 *
 * RENAMING ANY VALUE HERE NEEDS A MIGRATION: queue and job names are persisted in Redis (waiting/delayed jobs,
 * repeatable schedules) and operation kinds are persisted in Postgres (operations.kind, with a CHECK constraint).
 * Add new names; drain or migrate before removing old ones.
 */

/** Long operations a tenant admin (or the platform) can request; one durable `operations` row each. */
export enum OperationKind {
  CmkRewrap = 'cmk-rewrap',
  Rekey = 'rekey',
  KekRotation = 'kek-rotation',
  RevocationCheck = 'revocation-check',
  Reinstate = 'reinstate',
}

export const OPERATION_KINDS: readonly OperationKind[] = Object.values(OperationKind);

/** Kinds an admin may request through POST …/workspaces/{id}/operations (rekey comes from a re-bind). */
export const REQUESTABLE_KINDS: readonly OperationKind[] = [
  OperationKind.CmkRewrap,
  OperationKind.KekRotation,
  OperationKind.RevocationCheck,
  OperationKind.Reinstate,
];

/** Queue and job names, in one place. BullMQ queue names must not contain ':'. */
export enum JobName {
  /** Rewrap the workspace's KEK under the current CMK version (no DEK change). */
  CmkRewrap = 'cmk-rewrap',
  /** Rewrap the KEK under another key configuration (re-bind). */
  Rekey = 'rekey',
  /** New KEK version; rewrap DEKs in batches. */
  KekRotation = 'kek-rotation',
  /** Probe access to a customer key (scheduled per key configuration, or on request / on access failure). */
  AccessProbe = 'access-probe',
  /** Prove unwrap works again and reinstate a shredded workspace. */
  Reinstate = 'reinstate',
  /** Scheduled: enqueue one access probe per key configuration with bound workspaces. */
  ProbeSweep = 'probe-sweep',
  /** Scheduled: CMK rewrap / KEK rotation for keys whose version, age or wrap count says so. */
  RotationCheck = 'rotation-check',
  /** Work through the pending items of one bulk operation (bind, re-key or rewrap a selection of workspaces). */
  BulkOperation = 'bulk-operation',
}

export enum QueueName {
  CmkRewrap = 'keyhold-cmk-rewrap',
  Rekey = 'keyhold-rekey',
  KekRotation = 'keyhold-kek-rotation',
  AccessProbe = 'keyhold-access-probe',
  /** The worker's own scheduled housekeeping (probe sweep, rotation check). */
  Maintenance = 'keyhold-maintenance',
  /** SIEM streaming: one job per destination with undelivered audit records (libs/jobs/src/siem). */
  SiemDelivery = 'keyhold-siem-delivery',
  /** Bulk operations: one job per bulk operation, its items handled by the worker (libs/keys bulk-actions). */
  BulkOperation = 'keyhold-bulk-operation',
}

/** Where each operation kind is executed. */
export const ROUTES: Readonly<Record<OperationKind, { queue: QueueName; job: JobName }>> = Object.freeze({
  [OperationKind.CmkRewrap]: { queue: QueueName.CmkRewrap, job: JobName.CmkRewrap },
  [OperationKind.Rekey]: { queue: QueueName.Rekey, job: JobName.Rekey },
  [OperationKind.KekRotation]: { queue: QueueName.KekRotation, job: JobName.KekRotation },
  [OperationKind.RevocationCheck]: { queue: QueueName.AccessProbe, job: JobName.AccessProbe },
  [OperationKind.Reinstate]: { queue: QueueName.AccessProbe, job: JobName.Reinstate },
});

/** Payload of every operation job: ids only (never key material, never tenant input). */
export interface OperationJobData {
  readonly operationId: string;
  readonly tenantId: string;
}

/** Payload of a scheduled probe of one key configuration. */
export interface ProbeJobData {
  readonly tenantId: string;
  readonly keyConfigurationId: string;
}

/** Payload of a bulk operation's job: ids only; the items, the action and the requesting actor are read from Postgres. */
export interface BulkJobData {
  readonly bulkOperationId: string;
  readonly tenantId: string;
}

export function isOperationKind(value: unknown): value is OperationKind {
  return typeof value === 'string' && (OPERATION_KINDS as readonly string[]).includes(value);
}
