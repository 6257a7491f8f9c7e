import type { DataSource } from 'typeorm';
import { ProviderError } from '@app/provider-port';
import { OperationKind } from '../contracts';
import type { KekWrapping } from '../operations/kek-wrapping';
import { withSql } from '../store/sql';
import type { WorkspaceKeyStore } from '../store/workspace-key-store';
import type { OperationTrigger } from './operation-trigger';

export interface RotationLimits {
  /** Rotate a KEK once it has done this many GCM wraps (far below the 2^32 random-nonce limit). */
  readonly kekMaxWraps: number;
  /** Rotate a KEK older than this. */
  readonly kekMaxAgeSeconds: number;
  /** Rewrap a KEK whose wrapped form is older than this under the CMK (0 = only on a new CMK version). */
  readonly cmkRewrapMaxAgeSeconds: number;
}

/**
 * Scheduled check that starts rotations by itself:
 *  - KEK rotation when an active KEK crossed the wrap-count or age limit;
 *  - CMK rewrap when describe reports a current key version different from the one a live KEK row was wrapped
 *    under (customer rotated their key), or when the wrapped form is older than the configured maximum.
 * One describe per key configuration, not per workspace. Triggers are de-duplicated by the operations table.
 */
export class RotationCheck {
  constructor(
    private readonly ds: DataSource,
    private readonly store: WorkspaceKeyStore,
    private readonly wrapping: KekWrapping,
    private readonly trigger: OperationTrigger,
    private readonly limits: RotationLimits,
  ) {}

  async execute(signal?: AbortSignal): Promise<{ kekRotations: number; cmkRewraps: number }> {
    let kekRotations = 0;
    let cmkRewraps = 0;
    const due = await withSql(this.ds, (sql) =>
      sql.rows<{ tenantId: string; workspaceId: string; why: string }>(
        `SELECT k.tenant_id AS "tenantId", k.workspace_id AS "workspaceId",
                CASE WHEN k.wrap_count >= $1 THEN 'wrap count' ELSE 'age' END AS why
         FROM kek_versions k JOIN workspaces w ON w.tenant_id = k.tenant_id AND w.id = k.workspace_id
         WHERE k.state = 'active'
           -- The wrap limit holds wherever DEKs are still created (a workspace stuck in access_suspect too); age
           -- is a hygiene limit and waits for an active workspace.
           AND ((k.wrap_count >= $1 AND w.key_state IN ('active', 'access_suspect'))
                OR (w.key_state = 'active' AND k.created_at < now() - ($2::double precision * interval '1 second')))`,
        [this.limits.kekMaxWraps, this.limits.kekMaxAgeSeconds],
      ),
    );
    for (const d of due) {
      const { created } = await this.trigger.trigger({
        tenantId: d.tenantId,
        workspaceId: d.workspaceId,
        kind: OperationKind.KekRotation,
        reason: `KEK ${d.why} limit reached`,
      });
      if (created) kekRotations++;
    }

    const configs = await withSql(this.ds, (sql) =>
      sql.rows<{ tenantId: string; keyConfigurationId: string }>(
        `SELECT DISTINCT tenant_id AS "tenantId", key_configuration_id AS "keyConfigurationId"
         FROM workspaces WHERE key_state = 'active' AND key_configuration_id IS NOT NULL`,
      ),
    );
    for (const c of configs) {
      if (signal?.aborted) break;
      const cfg = await withSql(this.ds, (sql) => this.store.keyConfiguration(sql, c.tenantId, c.keyConfigurationId));
      if (!cfg) continue;
      let current: string | null;
      try {
        current = await this.wrapping.currentVersion(cfg, c.tenantId, signal);
      } catch (err) {
        // A probe's business, not ours: revocation and outages are handled by the access probes.
        if (err instanceof ProviderError) continue;
        throw err;
      }
      const stale = await withSql(this.ds, (sql) =>
        sql.rows<{ workspaceId: string; why: string; cutoff: Date }>(
          `SELECT DISTINCT k.workspace_id AS "workspaceId",
                  CASE WHEN $3::text IS NOT NULL AND k.provider_key_version IS DISTINCT FROM $3::text THEN 'new CMK version'
                       ELSE 'wrapped KEK age' END AS why,
                  now() - ($4::double precision * interval '1 second') AS cutoff
           FROM kek_versions k JOIN workspaces w ON w.tenant_id = k.tenant_id AND w.id = k.workspace_id
           WHERE k.tenant_id = $1 AND k.key_configuration_id = $2 AND k.state IN ('active', 'retiring')
             AND w.key_state = 'active' AND w.key_configuration_id = $2
             -- Churn guard: a binding that reports one version on describe and another on wrap must not cause
             -- a rewrap on every check; one successful rewrap towards this version per day is enough.
             AND NOT EXISTS (SELECT 1 FROM operations o
                             WHERE o.tenant_id = k.tenant_id AND o.workspace_id = k.workspace_id AND o.kind = 'cmk-rewrap'
                               AND o.state = 'succeeded' AND o.params->'result'->>'keyVersion' = $3::text
                               AND o.finished_at > now() - interval '1 day')
             AND (($3::text IS NOT NULL AND k.provider_key_version IS DISTINCT FROM $3::text)
                  OR ($4::int > 0 AND COALESCE(k.rewrapped_at, k.created_at) < now() - ($4::double precision * interval '1 second')))`,
          [c.tenantId, cfg.id, current, this.limits.cmkRewrapMaxAgeSeconds],
        ),
      );
      for (const s of stale) {
        const { created } = await this.trigger.trigger({
          tenantId: c.tenantId,
          workspaceId: s.workspaceId,
          kind: OperationKind.CmkRewrap,
          reason: s.why,
          // With an age limit, the rewrap also renews forms older than it that are already on the current key
          // version (otherwise an age-triggered rewrap would find nothing to do).
          params: this.limits.cmkRewrapMaxAgeSeconds > 0 ? { rewrapWrappedBefore: new Date(s.cutoff).toISOString() } : undefined,
        });
        if (created) cmkRewraps++;
      }
    }
    return { kekRotations, cmkRewraps };
  }
}
