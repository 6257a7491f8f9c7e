import type { KeyConfig, KeyDescription, KeyProvider, ProviderKind } from '@app/provider-port';
import type { AuditLog } from '@app/audit';

/**
 * What the jobs need from the rest of Keyhold, as the smallest interfaces they call. The worker composes them
 * from @app/crypto, @app/keys, @app/kek-cache and @app/audit; the jobs never import those libs' internals, and
 * the use cases read as the algorithm rather than as plumbing.
 */

/** A cloud binding as the jobs use it: the port plus `explain`, which turns a failure into words for an admin. */
export type JobProvider = KeyProvider & { explain(err: unknown, check: string, config: KeyConfig): string };

export interface ProviderResolver {
  get(kind: ProviderKind): JobProvider;
}

/** Associated data a DEK is wrapped under (docs/ARCHITECTURE.md, key hierarchy): moving a DEK anywhere else fails to unwrap. */
export interface DekAad {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly segmentId: string;
  readonly kekVersion: number;
}

/** KEK and DEK primitives (AES-256-GCM, KCV). Every Buffer returned holding key material is zeroed by the caller. */
export interface KeyCrypto {
  generateKek(): Buffer;
  /** Key-check value: GCM is not key-committing, so a wrong KEK must never "successfully" unwrap. */
  kcv(kek: Buffer): Buffer;
  kcvMatches(kek: Buffer, kcv: Buffer): boolean;
  unwrapDek(kek: Buffer, wrapped: Buffer, aad: DekAad): Buffer;
  wrapDek(kek: Buffer, dek: Buffer, aad: DekAad): Buffer;
}

/** Cross-replica control of plaintext KEKs held by API replicas. */
export interface KekCacheControl {
  /** Drop cached state for a workspace (binding or versions changed); the next request reloads. */
  invalidateWorkspace(tenantId: string, workspaceId: string): Promise<void>;
  /** Drop every plaintext KEK of the workspace on every replica (crypto-shred of the in-memory material). */
  shredWorkspace(tenantId: string, workspaceId: string): Promise<void>;
}

/** The audit log as the jobs append to it: with `tx`, the record commits or rolls back with that transaction. */
export type AuditSink = Pick<AuditLog, 'append'>;

export type { KeyDescription };

/**
 * The bulk operations' use case (libs/keys RunBulkOperation): handles the pending items of one bulk operation as
 * its requesting admin, records each item's outcome, and says how many it left pending for a later run.
 */
export interface BulkRunner {
  execute(cmd: {
    readonly tenantId: string;
    readonly bulkId: string;
    readonly signal: AbortSignal;
    readonly onItem: (workspaceId: string) => Promise<void>;
  }): Promise<{ handled: number; deferred: number }>;
}
