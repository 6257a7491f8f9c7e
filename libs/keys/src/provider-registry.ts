import type { KeyConfig, KeyDescription, KeyProvider, ProviderCallObserver, ProviderKind } from '@app/provider-port';
import { createAwsProvider, loadAwsSettings, parseAwsKeyConfigInput } from '@app/provider-aws';
import type { AwsProviderSettings } from '@app/provider-aws';
import { DomainError, ErrorCode } from './errors';

/** A cloud binding as the control plane uses it. */
export type Binding = KeyProvider<any> & {
  explain(err: unknown, check: string, config: any): string;
  pin?(config: any, description: KeyDescription): any;
  close?(): unknown;
};

/** What the control plane needs from each cloud besides the port: parsing tenant input and the tenant's identity. */
export interface ProviderBinding {
  readonly kind: ProviderKind;
  readonly provider: Binding;
  /** Tenant input → pinned config. Throws InvalidIdentifierError with the reason. */
  parse(input: unknown, tenant: { id: string; externalId: string }): KeyConfig;
  /** What a customer must trust for this tenant (shown on the tenant). */
  identity(tenant: { id: string; externalId: string }): Record<string, unknown>;
  /** Setup instructions for a configuration (policies / grants to paste). */
  hints(config: KeyConfig, tenant: { id: string; externalId: string }): Record<string, unknown>;
  /** Re-applies tenant-owned values (AWS ExternalId) so they never come from stored or client data. */
  bindTenant(config: KeyConfig, tenant: { id: string; externalId: string }): KeyConfig;
}

/**
 * Builds each cloud binding once from settings (clients are reused: STYLE §3). A cloud whose settings are absent
 * is simply not offered; registering a configuration for it is a 400 PROVIDER_NOT_CONFIGURED. Satisfies the
 * jobs' ProviderResolver through `get`.
 */
export class ProviderRegistry {
  private constructor(
    private readonly bindings: Map<ProviderKind, ProviderBinding>,
    readonly unavailable: ReadonlyMap<ProviderKind, string>,
  ) {}

  static fromEnv(env: Record<string, string | undefined>, observer: ProviderCallObserver): ProviderRegistry {
    const bindings = new Map<ProviderKind, ProviderBinding>();
    const unavailable = new Map<ProviderKind, string>();
    const attempt = (kind: ProviderKind, build: () => ProviderBinding | null) => {
      try {
        const b = build();
        if (b) bindings.set(kind, b);
        else unavailable.set(kind, 'binding not installed');
      } catch (err) {
        unavailable.set(kind, (err as Error).message);
      }
    };
    attempt('aws', () => awsBinding(loadAwsSettings(env as NodeJS.ProcessEnv), observer));
    attempt('azure', () => azureBinding(env, observer));
    attempt('gcp', () => gcpBinding(env, observer));
    return new ProviderRegistry(bindings, unavailable);
  }

  static of(bindings: ProviderBinding[]): ProviderRegistry {
    return new ProviderRegistry(new Map(bindings.map((b) => [b.kind, b])), new Map());
  }

  has(kind: ProviderKind): boolean {
    return this.bindings.has(kind);
  }

  kinds(): ProviderKind[] {
    return [...this.bindings.keys()];
  }

  binding(kind: string): ProviderBinding {
    const b = this.bindings.get(kind as ProviderKind);
    if (!b)
      throw new DomainError(
        ErrorCode.ProviderNotConfigured,
        `provider "${kind}" is not configured on this Keyhold installation${this.unavailable.has(kind as ProviderKind) ? ` (${this.unavailable.get(kind as ProviderKind)})` : ''}`,
      );
    return b;
  }

  /** The port for a kind (the jobs' ProviderResolver). */
  get(kind: ProviderKind): Binding {
    return this.binding(kind).provider;
  }

  async close(): Promise<void> {
    for (const b of this.bindings.values()) await b.provider.close?.();
  }
}

function awsBinding(settings: AwsProviderSettings, observer: ProviderCallObserver): ProviderBinding {
  const provider = createAwsProvider(settings, observer);
  return {
    kind: 'aws',
    provider: provider as unknown as Binding,
    parse(input, tenant) {
      const i = (input ?? {}) as { keyArn?: unknown; roleArn?: unknown };
      return parseAwsKeyConfigInput({ keyArn: i.keyArn, roleArn: i.roleArn }, tenant.externalId, settings);
    },
    identity(tenant) {
      return { externalId: tenant.externalId, trustedPrincipalArn: settings.vendorPrincipalArn, trustPolicy: provider.trustPolicy(tenant.externalId) };
    },
    hints(config) {
      const c = config as { roleArn: string };
      return { keyPolicyStatement: provider.keyPolicyStatement(c.roleArn) };
    },
    bindTenant(config, tenant) {
      return { ...(config as object), externalId: tenant.externalId } as KeyConfig;
    },
  };
}

/*
 * Azure and GCP bindings are loaded through their front doors when present. They are required lazily so this
 * registry (and the AWS slice) builds while those libs are still being written; the shapes used are the
 * contract names (createAzureProvider, loadAzureSettings, parseAzureKeyConfigInput, accessGrantHint;
 * createGcpProvider, loadGcpSettings, parseGcpKeyConfigInput, serviceAccountForTenant, iamBindingHint).
 */
function optionalLib(name: 'provider-azure' | 'provider-gcp'): Record<string, any> | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(`../../${name}/src`) as Record<string, any>;
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(name)) return null;
    throw err;
  }
}

function azureBinding(env: Record<string, string | undefined>, observer: ProviderCallObserver): ProviderBinding | null {
  const lib = optionalLib('provider-azure');
  if (!lib) return null;
  const settings = lib.loadAzureSettings(env);
  const provider = lib.createAzureProvider(settings, observer) as Binding & { accessGrantHint?(c: unknown): unknown };
  return {
    kind: 'azure',
    provider,
    parse: (input) => {
      const i = (input ?? {}) as { keyId?: unknown; tenantId?: unknown };
      return lib.parseAzureKeyConfigInput({ keyId: i.keyId, tenantId: i.tenantId }, settings) as KeyConfig;
    },
    identity: () => ({ clientId: settings.clientId ?? settings.vendorClientId ?? null, appName: settings.appName ?? 'Keyhold' }),
    hints: (config) => ({ accessGrant: provider.accessGrantHint ? provider.accessGrantHint(config) : (lib.accessGrantHint?.(config) ?? null) }),
    bindTenant: (config) => config,
  };
}

function gcpBinding(env: Record<string, string | undefined>, observer: ProviderCallObserver): ProviderBinding | null {
  const lib = optionalLib('provider-gcp');
  if (!lib) return null;
  const settings = lib.loadGcpSettings(env);
  const provider = lib.createGcpProvider(settings, observer) as Binding & { iamBindingHint?(c: unknown): unknown };
  return {
    kind: 'gcp',
    provider,
    parse: (input, tenant) => {
      const i = (input ?? {}) as { keyName?: unknown; serviceAccount?: unknown };
      return lib.parseGcpKeyConfigInput({ keyName: i.keyName, serviceAccount: i.serviceAccount }, lib.serviceAccountForTenant(settings, tenant.id)) as KeyConfig;
    },
    identity: (tenant) => ({ serviceAccount: lib.serviceAccountForTenant(settings, tenant.id) }),
    hints: (config) => ({ iamBinding: provider.iamBindingHint ? provider.iamBindingHint(config) : (lib.iamBindingHint?.(config) ?? null) }),
    // The service account is the tenant's by derivation, never taken from stored or client data (confused deputy).
    bindTenant: (config, tenant) => ({ ...(config as object), serviceAccount: lib.serviceAccountForTenant(settings, tenant.id) }) as KeyConfig,
  };
}
