import type { KekVersionRepository, KekVersionRow, KeyConfigurationRow } from '@app/persistence';
import type { WrappedKek } from '@app/provider-port';
import type { KekWrapping } from './kek-wrapping';
import type { BoundKeyConfigurations } from './key-configurations';
import { OperationFailure } from './operation-errors';

/**
 * The shared core of CMK rewrap and re-key: move every live KEK version of a workspace onto `target` (the same
 * configuration at its newest key version, or another configuration, possibly in another cloud). The KEK bytes
 * never change, so DEKs are untouched and keep being served throughout.
 *
 * Per KEK version, crash-safe at any line:
 *  1. read the row (wrapped form W0); skip it if already on the target (a re-run after a crash);
 *  2. unwrap W0 under its own configuration and check the KCV;
 *  3. wrap under the target, unwrap that again and check the KCV (never store a form we have not unwrapped);
 *  4. compare-and-set the row from W0 to the new form, keeping W0 as previous_wrapped.
 * When W0 is already under the target configuration (CMK rewrap) and the binding can rewrap inside the KMS, 2–3 are
 * one in-KMS rewrap plus the same verifying unwrap and KCV check (KekWrapping.rewrapVerified): two calls, the KEK
 * never leaves the KMS; where the customer's grant does not allow it, the unwrap + wrap path above.
 * A crash between 3 and 4 only wastes KMS calls; a concurrent writer makes step 4 a no-op and we re-read.
 */
export class RewrapUnderKey {
  constructor(
    private readonly keks: KekVersionRepository,
    private readonly configs: BoundKeyConfigurations,
    private readonly wrapping: KekWrapping,
  ) {}

  async execute(input: {
    tenantId: string;
    workspaceId: string;
    target: KeyConfigurationRow;
    /**
     * The key version rows must end on. CMK rewrap: describe's current version (null = the cloud does not say:
     * rewrap unconditionally). Re-key: 'any' (being on the target configuration is enough).
     */
    targetKeyVersion: string | null | 'any';
    /**
     * CMK-rewrap max age: a row already on the target whose wrapped form was made before this instant is rewrapped
     * anyway (same key version, fresh wrapped form). Rows rewrapped by an earlier run of the same operation are
     * newer than it, so a re-run after a crash does not redo them.
     */
    wrappedBefore?: Date;
    signal?: AbortSignal;
  }): Promise<{ rewrapped: number[] }> {
    const { tenantId, workspaceId, target } = input;
    const rewrapped: number[] = [];
    const rows = await this.keks.findLive(tenantId, workspaceId);
    for (const initial of rows) {
      let row: KekVersionRow | null = initial;
      for (let tries = 0; row && tries < 3; tries++) {
        const tooOld = input.wrappedBefore !== undefined && row.wrappedAt.getTime() < input.wrappedBefore.getTime();
        if (!tooOld && this.isOnTarget(row, input.target.id, input.targetKeyVersion)) break;
        const next = await this.rewrapped(row, target, input.targetKeyVersion, input.signal);
        const swapped = await this.keks.replaceWrapping(row, {
          wrapped: next.ciphertext,
          keyConfigurationId: target.id,
          providerKeyVersion: next.keyVersion,
        });
        if (swapped) {
          rewrapped.push(row.version);
          break;
        }
        // Lost the compare-and-set: someone changed the row; read it again and decide afresh.
        row = await this.keks.find(tenantId, workspaceId, initial.version);
      }
    }
    return { rewrapped };
  }

  /** The row's KEK wrapped under `target`, verified: in the KMS when the row is already under it, else unwrap + wrap. */
  private async rewrapped(
    row: KekVersionRow,
    target: KeyConfigurationRow,
    targetKeyVersion: string | null | 'any',
    signal?: AbortSignal,
  ): Promise<WrappedKek> {
    if (row.keyConfigurationId === target.id) {
      const inPlace = await this.wrapping.rewrapVerified(
        row,
        target,
        targetKeyVersion === 'any' ? null : targetKeyVersion,
        signal,
      );
      if (inPlace) return inPlace;
    }
    const source = await this.configOf(row);
    const kek = await this.wrapping.unwrap(row, source, signal);
    try {
      return await this.wrapping.wrapVerified(kek, row.kcv, row, target, signal);
    } finally {
      kek.fill(0);
    }
  }

  private isOnTarget(row: KekVersionRow, targetId: string, targetKeyVersion: string | null | 'any'): boolean {
    if (row.keyConfigurationId !== targetId) return false;
    if (targetKeyVersion === 'any') return true;
    return targetKeyVersion !== null && row.providerKeyVersion === targetKeyVersion;
  }

  private async configOf(row: KekVersionRow): Promise<KeyConfigurationRow> {
    const cfg = await this.configs.find(row.tenantId, row.keyConfigurationId);
    if (!cfg)
      throw new OperationFailure(
        'KEY_CONFIGURATION_NOT_FOUND',
        `key configuration of KEK version ${row.version} no longer exists`,
      );
    return cfg;
  }
}
