import type { KeyConfigurationRow, KeyStateName, Repositories } from '@app/persistence';
import type { JobMetrics } from '../observability/job-metrics';
import type { AuditSink, KekCacheControl } from '../ports';
import { decodeForms, isRevocationCandidate, KEY_SIDES, keepForms, sidesToKeep } from '@app/provider-port';
import type { Queryable } from '@app/persistence';
import type { AccessProber } from './access-prober';
import type { VendorCanary } from './vendor-canary';
import { probeWarningMessage, type ProbeWarning } from './probe-warning';
import { ConfirmationPolicy, ControlVerdict, decide, Decision } from './confirmation-policy';

/** States a suspect verdict moves to access_suspect (from which only a probe's restore or a reinstate leads back). */
const SUSPECTABLE_STATES: readonly KeyStateName[] = ['active', 'rewrapping', 'rekeying', 'kek_rotating'];

export interface ProbeOutcome {
  readonly decision: Decision;
  /** Workspaces whose key state changed, and to what. */
  readonly changed: ReadonlyArray<{ workspaceId: string; from: KeyStateName; to: KeyStateName }>;
  /** Access proven, with something the admin should fix (e.g. describe refused); never a revocation. */
  readonly warning?: ProbeWarning;
}

/**
 * Probe one key configuration and apply the verdict to every workspace bound to it (probes are per key
 * configuration, not per workspace: one revoked key darkens all its workspaces at once, and the customer's KMS
 * sees one probe, not hundreds).
 *
 * The provider calls run outside any transaction; the decision and its effects on workspaces commit together
 * under the configuration's access-record row lock. Shredding the in-memory KEKs of other replicas happens
 * after the commit (the state is already `shredded`, so the DEK path answers 410 even if a pub/sub message is
 * lost; kek-cache's fallback poll drops the entries, since the shredded state is outside the KEK-holding set).
 */
export class ProbeKeyConfiguration {
  constructor(
    private readonly repos: Repositories,
    private readonly prober: AccessProber,
    private readonly cache: KekCacheControl,
    private readonly audit: AuditSink,
    private readonly metrics: JobMetrics,
    private readonly policy: ConfirmationPolicy,
    private readonly canary?: VendorCanary,
  ) {}

  async execute(
    cfg: KeyConfigurationRow,
    trigger: { reason: string; workspaceId?: string; operationId?: string },
    signal?: AbortSignal,
  ): Promise<ProbeOutcome> {
    const startedAt = Date.now();
    const result = await this.prober.probe(cfg, trigger.workspaceId, signal);
    // A revocation-class answer is checked against the vendor-owned canary, probed no earlier than this probe
    // started: if Keyhold's own identity path fails on a key only the vendor controls, the customer did not revoke.
    const canary =
      result.kind === 'failed' && isRevocationCandidate(result.errorClass) && this.canary?.has(cfg.provider)
        ? await this.canary.resultSince(cfg.provider, startedAt)
        : null;
    const { workspaces, keks, keyConfigurationAccess: access } = this.repos;
    const outcome = await this.repos.ds.transaction(async (m) => {
      const previous = await access.lock(m, cfg.tenantId, cfg.id, cfg.provider);
      const control: ControlVerdict =
        result.kind === 'ok'
          ? 'healthy'
          : canary && !canary.healthy
            ? 'unhealthy'
            : platformControl(await access.recentOnProvider(m, cfg.provider, cfg.id, this.policy.windowMs));
      const decision = decide(
        previous,
        result,
        new Date(),
        this.policy,
        control,
        canary && !canary.healthy
          ? `the vendor-owned canary on ${cfg.provider} fails too (${canary.errorClass}${canary.providerCode ? `, ${canary.providerCode}` : ''}): Keyhold's own side is broken, not the customer's key`
          : undefined,
      );
      await access.save(m, cfg.tenantId, cfg.id, decision.record, decision.verdict);

      const changed: Array<{ workspaceId: string; from: KeyStateName; to: KeyStateName; formsDeleted: number }> = [];
      for (const ws of await workspaces.boundTo(cfg.tenantId, cfg.id, m)) {
        const to = nextState(ws.keyState, decision.verdict);
        const degraded = decision.verdict === 'degraded' ? true : decision.verdict === 'restore' ? false : undefined;
        if (to && to !== ws.keyState) {
          if (await workspaces.transition(m, cfg.tenantId, ws.id, { from: [ws.keyState], to, degraded })) {
            // Shred deletes, in the same transaction, every stored KEK form not under this (revoked) key; the forms
            // under it stay, so the customer alone can bring the workspace back by restoring access (reinstate).
            const formsDeleted =
              to === 'shredded'
                ? (await keks.dropFormsNotUnder(m, cfg.tenantId, ws.id, cfg.id)) +
                  (await this.keepRevokedForms(
                    m,
                    cfg,
                    ws.id,
                    result.kind === 'failed' ? (result.revokedSides ?? []) : [],
                  ))
                : 0;
            changed.push({ workspaceId: ws.id, from: ws.keyState, to, formsDeleted });
          }
        } else if (degraded !== undefined && ws.degraded !== degraded && ws.keyState !== 'shredded') {
          await workspaces.setDegraded(cfg.tenantId, ws.id, degraded, m);
        }
      }
      // Every state change and its record commit together (the head lock comes last, after the state rows).
      for (const c of changed)
        await this.audit.append(
          cfg.tenantId,
          {
            actor: 'system:worker',
            action:
              c.to === 'shredded'
                ? 'workspace.shredded'
                : c.to === 'access_suspect'
                  ? 'workspace.access_suspect'
                  : 'workspace.access_restored',
            target: `workspace:${c.workspaceId}`,
            outcome: 'success',
            details: {
              from: c.from,
              to: c.to,
              keyConfigurationId: cfg.id,
              reason: decision.reason,
              trigger: trigger.reason,
              operationId: trigger.operationId,
              ...(c.to === 'shredded' ? { formsDeleted: c.formsDeleted } : {}),
              ...(c.to === 'shredded' && cfg.config.replica && result.kind === 'failed'
                ? { revokedSides: result.revokedSides ?? [] }
                : {}),
            },
          },
          m,
        );
      return { decision, changed };
    });

    this.metrics.probes.inc({ provider: cfg.provider, verdict: outcome.decision.verdict });
    for (const c of outcome.changed) {
      // Only a shred drops cached KEKs. active ⇄ access_suspect keeps serving with the same KEK: a suspected loss
      // is not a revocation, and dropping the cache then would turn a KMS hiccup into a DEK outage.
      if (c.to === 'shredded') await this.cache.shredWorkspace(cfg.tenantId, c.workspaceId);
    }
    if (result.kind === 'ok') {
      await this.noteWarning(cfg, result.warning ?? null);
      if (result.warning) return { ...outcome, warning: result.warning };
    }
    return outcome;
  }

  /**
   * With a replica key, the shred keeps of each live KEK only the forms that revoked keys alone open (provider-port
   * sidesToKeep): revoking the replica deletes the primary's form (GCP, Azure: a different key that still trusts
   * Keyhold), revoking one region of an AWS multi-Region key deletes both (each opens under the other region's key
   * too). What stays, the customer alone can reopen by restoring access; a KEK left with no form cannot be
   * reinstated. Returns the number of forms deleted.
   */
  private async keepRevokedForms(
    m: Queryable,
    cfg: KeyConfigurationRow,
    workspaceId: string,
    revoked: readonly ('primary' | 'replica')[],
  ): Promise<number> {
    if (!cfg.config.replica) return 0;
    const keep = sidesToKeep(cfg.config, revoked);
    let deleted = 0;
    for (const row of await this.repos.keks.findLive(cfg.tenantId, workspaceId, m)) {
      if (row.keyConfigurationId !== cfg.id) continue;
      const before = decodeForms(row.wrapped);
      const next = keepForms(cfg.config, row.wrapped, keep);
      if (next.equals(row.wrapped)) continue;
      if (await this.repos.keks.replaceStoredForms(m, cfg.tenantId, workspaceId, row.version, row.wrapped, next))
        deleted += KEY_SIDES.filter((s) => before[s] && !keep.includes(s)).length;
    }
    return deleted;
  }

  /**
   * A proven access with a warning (or without one any more) is shown on the key configuration, counted, and
   * audited when it appears or goes; a failed probe leaves it as it was (nothing was learnt about it).
   */
  private async noteWarning(cfg: KeyConfigurationRow, warning: ProbeWarning | null): Promise<void> {
    if (warning) this.metrics.probeWarnings.inc({ provider: cfg.provider, warning: warning.code });
    await this.repos.ds.transaction(async (sql) => {
      const message = warning ? probeWarningMessage(cfg.provider, warning) : '';
      if (!(await this.repos.keyConfigurations.recordProbeWarning(cfg.tenantId, cfg.id, warning, message, sql))) return;
      await this.audit.append(
        cfg.tenantId,
        {
          actor: 'system:worker',
          action: warning ? 'key_configuration.probe_warning' : 'key_configuration.probe_warning_cleared',
          target: `key_configuration:${cfg.id}`,
          outcome: 'success',
          details: warning
            ? { code: warning.code, errorClass: warning.errorClass, providerCode: warning.providerCode }
            : {},
        },
        sql,
      );
    });
  }
}

/** Key state a workspace moves to under a verdict (null = unchanged). `shredded` leaves only by reinstate. */
export function nextState(current: KeyStateName, verdict: Decision['verdict']): KeyStateName | null {
  if (current === 'unbound' || current === 'provisioning' || current === 'shredded' || current === 'destroyed')
    return null;
  switch (verdict) {
    case 'restore':
      return current === 'access_suspect' ? 'active' : null;
    case 'degraded':
      return null;
    case 'suspect':
      return SUSPECTABLE_STATES.includes(current) ? 'access_suspect' : null;
    case 'shred':
      return 'shredded';
  }
}

/**
 * The platform's own health on a provider from the other configurations' recent probes: any success means the
 * provider and our vendor identity work; several failing at once with none succeeding means the fault is most
 * likely ours (broken vendor credentials, a provider-wide incident).
 */
export function platformControl(recent: { ok: number; failing: number }): ControlVerdict {
  if (recent.ok > 0) return 'healthy';
  if (recent.failing >= 3) return 'unhealthy';
  return 'unknown';
}
