import { randomBytes } from 'node:crypto';
import type { VendorCanaryRepository } from '@app/persistence';
import { ErrorClass, KeyConfig, ProviderError, ProviderKind, WrapContext } from '@app/provider-port';
import type { JobMetrics } from '../observability/job-metrics';
import type { ProviderResolver } from '../ports';

/**
 * A key and identity in the vendor's OWN account, per cloud (AWS: a KMS key + a role the vendor credentials assume
 * with an ExternalId, exactly like a customer's; GCP: a vendor-owned service account impersonated like a tenant's;
 * Azure: a key in a vendor-owned vault). Nobody but the vendor can revoke it.
 */
export interface CanaryTarget {
  readonly provider: ProviderKind;
  /** A configuration of the same shape as a customer's, already bound (the same identity path). */
  readonly config: KeyConfig;
  /** The canary's key identifier, for logs and the operator (vendor-owned, not a secret). */
  readonly target: string;
}

export interface CanaryResult {
  readonly provider: ProviderKind;
  readonly healthy: boolean;
  readonly errorClass: ErrorClass | null;
  readonly providerCode: string | null;
  /** When the probe that produced this result started (epoch ms). */
  readonly startedAt: number;
}

export type CanaryLogger = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

const CANARY_CONTEXT: WrapContext = {
  tenantId: '',
  workspaceId: 'vendor-canary',
  keyConfigurationId: 'vendor-canary',
  kekVersion: 0,
  purpose: 'validation-probe',
};

/**
 * The positive control's direct witness (docs/ARCHITECTURE.md "Positive control"): a customer's revocation-class
 * answer means something only if the same identity path works on a key the customer cannot touch. When the
 * canary fails too, the fault is on Keyhold's side (its IAM/SCP, its credentials, its service accounts) or the
 * provider's, and customer revocation verdicts are held in `access_suspect`, never `shredded`.
 *
 * Probed on its own schedule (every probe interval, for /metrics, logs and the operator) and on demand: a
 * customer probe that came back revocation-class asks for a canary result that started no earlier than itself,
 * so a shred is never allowed on the strength of a canary result older than the customer's failure. Concurrent
 * askers share one probe. The canary's calls carry no tenant id, so they are never written to a tenant's audit log.
 */
export class VendorCanary {
  private readonly targets = new Map<ProviderKind, CanaryTarget>();
  private readonly last = new Map<ProviderKind, CanaryResult>();
  private readonly running = new Map<ProviderKind, { startedAt: number; result: Promise<CanaryResult> }>();

  constructor(
    targets: readonly CanaryTarget[],
    private readonly providers: ProviderResolver,
    private readonly statuses: Pick<VendorCanaryRepository, 'record'>,
    private readonly metrics: JobMetrics,
    private readonly log: CanaryLogger,
  ) {
    for (const t of targets) this.targets.set(t.provider, t);
  }

  has(provider: string): provider is ProviderKind {
    return this.targets.has(provider as ProviderKind);
  }

  providersWithCanary(): ProviderKind[] {
    return [...this.targets.keys()];
  }

  /** A canary result from a probe that started at or after `notBefore` (runs one if there is none). */
  async resultSince(provider: ProviderKind, notBefore: number): Promise<CanaryResult | null> {
    if (!this.targets.has(provider)) return null;
    const last = this.last.get(provider);
    if (last && last.startedAt >= notBefore) return last;
    const running = this.running.get(provider);
    if (running && running.startedAt >= notBefore) return running.result;
    return this.run(provider);
  }

  /** Probe every canary once (the schedule). Never throws. */
  async sweep(): Promise<CanaryResult[]> {
    const out: CanaryResult[] = [];
    for (const provider of this.targets.keys()) out.push(await this.run(provider));
    return out;
  }

  private run(provider: ProviderKind): Promise<CanaryResult> {
    const startedAt = Date.now();
    const result = this.probe(provider, startedAt).then(async (r) => {
      await this.record(r);
      return r;
    });
    this.running.set(provider, { startedAt, result });
    void result.finally(() => {
      if (this.running.get(provider)?.result === result) this.running.delete(provider);
    });
    return result;
  }

  /** describe (enabled?) then a wrap/unwrap round trip: the calls a customer probe makes, on the vendor's key. */
  private async probe(provider: ProviderKind, startedAt: number): Promise<CanaryResult> {
    const t = this.targets.get(provider)!;
    const binding = this.providers.get(provider);
    const secret = randomBytes(32);
    try {
      const d = await binding.describe(t.config, { tenantId: '' });
      if (d.state !== 'enabled')
        return {
          provider,
          healthy: false,
          errorClass: d.state === 'disabled' ? 'key_disabled' : 'ambiguous',
          providerCode: `state:${d.state}`,
          startedAt,
        };
      const wrapped = await binding.wrap(t.config, secret, CANARY_CONTEXT);
      const back = await binding.unwrap(t.config, wrapped, CANARY_CONTEXT);
      const same = back.equals(secret);
      back.fill(0);
      return same
        ? { provider, healthy: true, errorClass: null, providerCode: null, startedAt }
        : { provider, healthy: false, errorClass: 'ambiguous', providerCode: 'Mismatch', startedAt };
    } catch (err) {
      if (err instanceof ProviderError)
        return { provider, healthy: false, errorClass: err.errorClass, providerCode: err.providerCode, startedAt };
      return {
        provider,
        healthy: false,
        errorClass: 'ambiguous',
        providerCode: err instanceof Error ? err.name : 'Error',
        startedAt,
      };
    } finally {
      secret.fill(0);
    }
  }

  private async record(r: CanaryResult): Promise<void> {
    const before = this.last.get(r.provider);
    // Results land out of order when a scheduled and an on-demand probe overlap: keep the newest.
    if (before && before.startedAt > r.startedAt) return;
    this.last.set(r.provider, r);
    this.metrics.vendorCanary.set({ provider: r.provider }, r.healthy ? 1 : 0);
    const target = this.targets.get(r.provider)!.target;
    if (!r.healthy && (before === undefined || before.healthy))
      this.log(
        'error',
        "vendor canary failing: Keyhold's own access to this provider is broken; customer revocation verdicts are held",
        {
          provider: r.provider,
          errorClass: r.errorClass,
          providerCode: r.providerCode,
          target,
        },
      );
    else if (r.healthy && before && !before.healthy)
      this.log('info', 'vendor canary healthy again', { provider: r.provider, target });
    await this.statuses
      .record({
        provider: r.provider,
        healthy: r.healthy,
        errorClass: r.errorClass,
        providerCode: r.providerCode,
        target,
      })
      .catch((err: unknown) =>
        this.log('warn', 'vendor canary status not saved', {
          provider: r.provider,
          err: err instanceof Error ? err.message : String(err),
        }),
      );
  }
}
