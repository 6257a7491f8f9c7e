import { anyCloud, withReplicas } from '@app/provider-port';
import type {
  CloudKeyProvider,
  ProviderBinding,
  ProviderCallObserver,
  ProviderEnv,
  ProviderKind,
  ProviderModule,
} from '@app/provider-port';
import { awsProviderModule } from '@app/provider-aws';
import { azureProviderModule } from '@app/provider-azure';
import { gcpProviderModule } from '@app/provider-gcp';
import { DomainError, ErrorCode } from './errors';

/** Every cloud Keyhold speaks, each lib's one module. */
export const PROVIDER_MODULES: readonly [ProviderModule<'aws'>, ProviderModule<'azure'>, ProviderModule<'gcp'>] = [
  awsProviderModule,
  azureProviderModule,
  gcpProviderModule,
];

/**
 * Builds each cloud binding once from settings (clients are reused). A cloud whose settings are absent or invalid
 * is simply not offered; registering a configuration for it is a 400 PROVIDER_NOT_CONFIGURED. Satisfies the
 * jobs' ProviderResolver through `get`.
 */
export class ProviderRegistry {
  private constructor(
    private readonly bindings: Map<ProviderKind, ProviderBinding>,
    readonly unavailable: ReadonlyMap<ProviderKind, string>,
  ) {}

  static fromEnv(env: ProviderEnv, observer: ProviderCallObserver): ProviderRegistry {
    const bindings = new Map<ProviderKind, ProviderBinding>();
    const unavailable = new Map<ProviderKind, string>();
    const attempt = <K extends ProviderKind>(m: ProviderModule<K>) => {
      try {
        const b = anyCloud(m.kind, m.create(env, observer));
        // Configurations naming a replica key wrap under both and fail over on transient errors (provider-port replica.ts).
        bindings.set(m.kind, { ...b, provider: withReplicas(b.provider, observer) });
      } catch (err) {
        unavailable.set(m.kind, err instanceof Error ? err.message : String(err));
      }
    };
    for (const m of PROVIDER_MODULES) attempt(m);
    return new ProviderRegistry(bindings, unavailable);
  }

  has(kind: ProviderKind): boolean {
    return this.bindings.has(kind);
  }

  kinds(): ProviderKind[] {
    return [...this.bindings.keys()];
  }

  binding(kind: ProviderKind): ProviderBinding {
    const b = this.bindings.get(kind);
    if (!b) {
      const why = this.unavailable.get(kind);
      throw new DomainError(
        ErrorCode.ProviderNotConfigured,
        `provider "${kind}" is not configured on this Keyhold installation${why ? ` (${why})` : ''}`,
      );
    }
    return b;
  }

  /** The port for a kind (the jobs' ProviderResolver). */
  get(kind: ProviderKind): CloudKeyProvider {
    return this.binding(kind).provider;
  }

  async close(): Promise<void> {
    for (const b of this.bindings.values()) await b.provider.close();
  }
}
