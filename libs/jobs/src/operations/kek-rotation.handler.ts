import type { KekVersionRow, KeyConfigurationRow, KeyStateName, Repositories } from '@app/persistence';
import {
  workspaceLock,
  type HandlerResult,
  type OperationContext,
  type OperationHandler,
} from '../engine/operation-handler';
import type { JobMetrics } from '../observability/job-metrics';
import type { AuditSink, KekCacheControl, KeyCrypto } from '../ports';
import { isPermanent } from './cmk-rewrap.handler';
import type { KekWrapping } from './kek-wrapping';
import type { BoundKeyConfigurations } from './key-configurations';
import { OperationFailure } from './operation-errors';
import { enterWorkingState, failIfDestroyed, leaveWorkingState } from './workspace-guard';

/** States a KEK rotation may start from (see enterWorkingState). */
const ROTATABLE_FROM: readonly KeyStateName[] = ['active', 'access_suspect'];

/** Batches being written concurrently while the next is prepared (two cores: Postgres and Node overlap). */
const WRITES_IN_FLIGHT = 2;

interface PreparedBatch {
  readonly rows: Array<{ segmentId: string; fromVersion: number; wrapped: Buffer }>;
  readonly lastSegment: string;
}

export interface KekRotationOptions {
  /** DEKs per transaction. */
  readonly batchSize: number;
}

/**
 * KEK rotation: a new KEK version for the workspace, every DEK rewrapped to it, the old version retired.
 *
 *  planned      the new version number is fixed on the operation row (params.newVersion) before anything else,
 *               so every re-run works towards the same version
 *  switched     generate + wrap + verify the new KEK (outside any transaction), then in ONE transaction: old
 *               active → retiring, new row inserted active, workspace.current_kek_version moved (CAS). New DEKs
 *               use the new version from here on. A crash before the commit wastes two KMS calls, nothing else.
 *  rewrapping   DEKs still on an older version, keyset-paged, `batchSize` per transaction: unwrap under the old
 *               KEK, wrap under the new one (AAD carries the new version), bulk compare-and-set on kek_version,
 *               wrap_count and progress updated in the same transaction.
 *  retired      each retiring version that no DEK uses is retired (checked in the same statement), workspace
 *               back to active, caches invalidated.
 * DEKs are served throughout: a DEK row is always either old-version/old-wrap or new-version/new-wrap.
 */
export class KekRotationHandler implements OperationHandler {
  readonly kind = 'kek-rotation';

  constructor(
    private readonly repos: Repositories,
    private readonly configs: BoundKeyConfigurations,
    private readonly wrapping: KekWrapping,
    private readonly crypto: KeyCrypto,
    private readonly cache: KekCacheControl,
    private readonly audit: AuditSink,
    private readonly metrics: JobMetrics,
    private readonly options: KekRotationOptions = { batchSize: 1000 },
  ) {}

  readonly lockKey = workspaceLock;

  async execute(ctx: OperationContext): Promise<HandlerResult> {
    const { tenantId, workspaceId } = ctx.op;
    // From access_suspect too: the wrap limit must hold in every state that serves DEKs. Where to return is
    // recorded in the same transaction as the move (a re-run after a crash reads it from the operation row).
    let returnTo: KeyStateName = ctx.op.params.returnTo === 'access_suspect' ? 'access_suspect' : 'active';
    const ws = await enterWorkingState(
      this.repos.ds,
      this.repos.workspaces,
      tenantId,
      workspaceId,
      'kek_rotating',
      ROTATABLE_FROM,
      async (m, left) => {
        returnTo = left;
        await this.repos.operations.recordStep(tenantId, ctx.op.id, 'entered', { returnTo: left }, m);
      },
    );
    try {
      if (!ws.keyConfigurationId || ws.currentKekVersion === null) {
        throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace has no KEK to rotate');
      }
      let newVersion = Number(ctx.op.params.newVersion ?? 0);
      if (!newVersion) {
        newVersion = (await this.repos.keks.maxVersion(tenantId, workspaceId)) + 1;
        await ctx.step('planned', { newVersion, fromVersion: ws.currentKekVersion });
      }
      const cfg = await this.configs.find(tenantId, ws.keyConfigurationId);
      if (!cfg)
        throw new OperationFailure('KEY_CONFIGURATION_NOT_FOUND', 'the bound key configuration no longer exists');

      const newKek = await this.ensureNewKek(ctx, cfg, newVersion, ws.currentKekVersion);
      const rewrapStarted = process.hrtime.bigint();
      let moved: number;
      try {
        moved = await this.rewrapDeks(ctx, newKek, newVersion);
      } finally {
        newKek.fill(0);
      }
      const rewrapMs = Number(process.hrtime.bigint() - rewrapStarted) / 1e6;
      const retired = await this.retireUnused(tenantId, workspaceId, newVersion);
      await ctx.step('retired', { retiredVersions: retired });
      const version = newVersion;
      const left = await leaveWorkingState(
        this.repos.ds,
        this.repos.workspaces,
        tenantId,
        workspaceId,
        'kek_rotating',
        {
          to: returnTo,
          onLeft: (m) =>
            this.audit.append(
              tenantId,
              {
                actor: 'system:worker',
                action: 'workspace.kek_rotated',
                target: `workspace:${workspaceId}`,
                outcome: 'success',
                details: { operationId: ctx.op.id, kekVersion: version, retiredVersions: retired },
              },
              m,
            ),
        },
      );
      // Not left: a destroy took the workspace meanwhile (the operation fails cleanly; nothing comes back).
      if (!left) await failIfDestroyed(this.repos.workspaces, tenantId, workspaceId);
      await this.cache.invalidateWorkspace(tenantId, workspaceId);
      return {
        kind: 'done',
        result: {
          kekVersion: newVersion,
          retiredVersions: retired,
          // This run's throughput (a re-run after a crash only counts what it moved itself).
          rewrapped: moved,
          rewrapMs: Math.round(rewrapMs),
          deksPerSecond: moved > 0 && rewrapMs > 0 ? Math.round((moved * 1000) / rewrapMs) : null,
        },
      };
    } catch (err) {
      // Never towards shredded: a rotation that cannot reach the customer key only gives the workspace back.
      if (isPermanent(err))
        await leaveWorkingState(this.repos.ds, this.repos.workspaces, tenantId, workspaceId, 'kek_rotating', {
          to: returnTo,
        }).catch(() => undefined);
      throw err;
    }
  }

  /** The new version's plaintext KEK: created and switched to now, or (re-run) unwrapped from its row. */
  private async ensureNewKek(
    ctx: OperationContext,
    cfg: KeyConfigurationRow,
    newVersion: number,
    fromVersion: number,
  ): Promise<Buffer> {
    const { tenantId, workspaceId } = ctx.op;
    const existing = await this.repos.keks.find(tenantId, workspaceId, newVersion);
    if (existing) return this.wrapping.unwrap(existing, await this.configOf(existing, cfg), ctx.signal);
    if (fromVersion >= newVersion) {
      throw new OperationFailure('WORKSPACE_STATE_CONFLICT', `the workspace is already past KEK version ${newVersion}`);
    }

    const kek = this.crypto.generateKek();
    try {
      const kcv = this.crypto.kcv(kek);
      const target = { tenantId, workspaceId, version: newVersion };
      const wrapped = await this.wrapping.wrapVerified(kek, kcv, target, cfg, ctx.signal);
      const switched = await this.repos.keks.switchToNew(
        {
          ...target,
          keyConfigurationId: cfg.id,
          wrapped: wrapped.ciphertext,
          providerKeyVersion: wrapped.keyVersion,
          kcv,
        },
        fromVersion,
      );
      if (!switched)
        throw new OperationFailure('WORKSPACE_STATE_CONFLICT', 'the workspace KEK version changed under the rotation');
      // New DEKs must be created under the new version on every replica from now on.
      await this.cache.invalidateWorkspace(tenantId, workspaceId);
      await ctx.step('switched', { newVersion });
      return kek;
    } catch (err) {
      kek.fill(0);
      throw err;
    }
  }

  /**
   * Returns how many DEK rows this run moved. Pipelined: while batch N is written (Postgres works), batch N+1 is
   * read and re-encrypted (Node works), so the two cores overlap instead of taking turns.
   */
  private async rewrapDeks(ctx: OperationContext, newKek: Buffer, newVersion: number): Promise<number> {
    const { tenantId, workspaceId, id: operationId } = ctx.op;
    const oldKeks = new Map<number, Buffer>();
    try {
      const total = await this.repos.deks.count(tenantId, workspaceId);
      const done0 = await this.repos.deks.count(tenantId, workspaceId, newVersion);
      await this.repos.operations.setProgress(tenantId, operationId, done0, total);
      await this.repos.deks.ensureStatistics(tenantId, workspaceId, total - done0).catch(() => false);
      await ctx.step('rewrapping', { total });

      const prepare = async (after: string | null): Promise<PreparedBatch | null> => {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('worker shutting down');
        const batch = await this.repos.deks.nextToRewrap(
          tenantId,
          workspaceId,
          newVersion,
          after,
          this.options.batchSize,
        );
        if (batch.length === 0) return null;
        const rows: PreparedBatch['rows'] = [];
        for (const d of batch) {
          const oldKek = await this.oldKek(oldKeks, tenantId, workspaceId, d.kekVersion, ctx.signal);
          const dek = this.crypto.unwrapDek(oldKek, d.wrapped, {
            tenantId,
            workspaceId,
            segmentId: d.segmentId,
            kekVersion: d.kekVersion,
          });
          try {
            rows.push({
              segmentId: d.segmentId,
              fromVersion: d.kekVersion,
              wrapped: this.crypto.wrapDek(newKek, dek, {
                tenantId,
                workspaceId,
                segmentId: d.segmentId,
                kekVersion: newVersion,
              }),
            });
          } finally {
            dek.fill(0);
          }
        }
        return { rows, lastSegment: batch[batch.length - 1].segmentId };
      };

      const write = async (batch: PreparedBatch): Promise<number> => {
        const moved = await this.repos.ds.transaction(async (m) => {
          const n = await this.repos.deks.rewrapBatch(m, tenantId, workspaceId, newVersion, batch.rows);
          await this.repos.keks.countWraps(m, tenantId, workspaceId, newVersion, batch.rows.length);
          await this.repos.operations.addProgress(m, tenantId, operationId, n, total, {
            step: 'rewrapping',
            lastSegment: batch.lastSegment,
          });
          return n;
        });
        this.metrics.dekRewraps.inc(moved);
        await ctx.reached('rewrapping');
        return moved;
      };

      let movedTotal = 0;
      // Keyset pass over the segments, then sweep passes for DEKs created under an old version meanwhile (a
      // replica whose workspace cache had not yet seen the switch). Up to WRITES_IN_FLIGHT batches are being
      // written (disjoint rows, separate transactions) while the next one is prepared.
      for (let pass = 0; pass < 5; pass++) {
        let movedThisPass = 0;
        const inflight: Array<Promise<number>> = [];
        try {
          let next = prepare(null);
          for (;;) {
            const batch = await next;
            if (!batch) break;
            next = prepare(batch.lastSegment);
            next.catch(() => undefined); // awaited next turn; never an unhandled rejection meanwhile
            const written = write(batch);
            written.catch(() => undefined); // awaited in order below; a later batch failing first is never unhandled
            inflight.push(written);
            if (inflight.length >= WRITES_IN_FLIGHT) movedThisPass += await (inflight.shift() as Promise<number>);
          }
          while (inflight.length) movedThisPass += await (inflight.shift() as Promise<number>);
        } catch (err) {
          await Promise.allSettled(inflight);
          throw err;
        }
        movedTotal += movedThisPass;
        if (movedThisPass === 0) break;
      }
      return movedTotal;
    } finally {
      for (const k of oldKeks.values()) k.fill(0);
    }
  }

  private async oldKek(
    cache: Map<number, Buffer>,
    tenantId: string,
    workspaceId: string,
    version: number,
    signal: AbortSignal,
  ): Promise<Buffer> {
    const have = cache.get(version);
    if (have) return have;
    const row = await this.repos.keks.find(tenantId, workspaceId, version);
    if (!row) throw new OperationFailure('UNWRAP_FAILED', `KEK version ${version} is missing`);
    const cfg = await this.configOf(row);
    const kek = await this.wrapping.unwrap(row, cfg, signal);
    cache.set(version, kek);
    return kek;
  }

  private async retireUnused(tenantId: string, workspaceId: string, newVersion: number): Promise<number[]> {
    const live = await this.repos.keks.findLive(tenantId, workspaceId);
    const retired: number[] = [];
    for (const k of live) {
      if (k.version === newVersion || k.state !== 'retiring') continue;
      if (await this.repos.keks.retireIfUnused(tenantId, workspaceId, k.version)) retired.push(k.version);
    }
    return retired;
  }

  private async configOf(row: KekVersionRow, known?: KeyConfigurationRow): Promise<KeyConfigurationRow> {
    if (known && known.id === row.keyConfigurationId) return known;
    const cfg = await this.configs.find(row.tenantId, row.keyConfigurationId);
    if (!cfg)
      throw new OperationFailure(
        'KEY_CONFIGURATION_NOT_FOUND',
        `key configuration of KEK version ${row.version} no longer exists`,
      );
    return cfg;
  }
}
