import type { WorkspaceRepository } from '@app/persistence';
import { OperationKind } from '../contracts';
import type { ProbeKeyConfiguration } from '../revocation/probe-key-configuration';
import type { BoundKeyConfigurations } from '../operations/key-configurations';
import type { OperationTrigger } from './operation-trigger';

/**
 * The periodic probe of one key configuration. A healthy key costs two KMS calls and no row anywhere but the
 * access record; anything else (revocation candidate, transient failure) escalates to a durable
 * `revocation-check` operation, which drives confirmation or backoff from there.
 */
export class ScheduledProbe {
  constructor(
    private readonly workspaces: WorkspaceRepository,
    private readonly configs: BoundKeyConfigurations,
    private readonly probe: ProbeKeyConfiguration,
    private readonly trigger: OperationTrigger,
  ) {}

  async execute(tenantId: string, keyConfigurationId: string, signal?: AbortSignal): Promise<string> {
    const [cfg, bound] = await Promise.all([
      this.configs.find(tenantId, keyConfigurationId),
      this.workspaces.boundTo(tenantId, keyConfigurationId),
    ]);
    const live = bound.filter((w) => w.keyState !== 'shredded');
    if (!cfg || live.length === 0) return 'skipped';
    const { decision } = await this.probe.execute(cfg, { reason: 'scheduled' }, signal);
    if (decision.verdict === 'suspect' || decision.verdict === 'degraded') {
      await this.trigger.trigger({
        tenantId,
        workspaceId: live[0].id,
        kind: OperationKind.RevocationCheck,
        reason: `scheduled probe: ${decision.reason}`,
        targetKeyConfigurationId: cfg.id,
      });
    }
    return decision.verdict;
  }
}
