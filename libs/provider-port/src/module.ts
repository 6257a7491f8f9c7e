import type { ProviderCallObserver } from './observer';
import type {
  AwsKeyConfig,
  AzureKeyConfig,
  GcpKeyConfig,
  KeyConfig,
  KeyDescription,
  KeyProvider,
  ProviderKind,
} from './port';

/** Each cloud's configuration type, by kind: the discriminated union `KeyConfig`, indexed. */
export interface ProviderConfigs {
  readonly aws: AwsKeyConfig;
  readonly azure: AzureKeyConfig;
  readonly gcp: GcpKeyConfig;
}

export type ConfigOf<K extends ProviderKind> = ProviderConfigs[K];

/** A stored configuration as rows carry it: the kind column and the configuration it discriminates. */
export type StoredKeyConfig = {
  [K in ProviderKind]: { readonly provider: K; readonly config: ConfigOf<K> };
}[ProviderKind];

/** A configuration paired with its kind as rows carry it (the kind read from the configuration itself). */
export function storedConfig(config: KeyConfig): StoredKeyConfig {
  switch (config.provider) {
    case 'aws':
      return { provider: 'aws', config };
    case 'azure':
      return { provider: 'azure', config };
    case 'gcp':
      return { provider: 'gcp', config };
  }
}

/** The tenant values a binding may derive identities from (the ExternalId is generated per tenant by Keyhold). */
export interface TenantIdentity {
  readonly id: string;
  readonly externalId: string;
}

/** Environment variables as the process sees them; each cloud reads its own KEYHOLD_<CLOUD>_* names. */
export type ProviderEnv = Readonly<Record<string, string | undefined>>;

/** The port plus what validation and the jobs need besides the calls: words for an admin, pinning, shutdown. */
export interface CloudKeyProvider<C extends KeyConfig = KeyConfig> extends KeyProvider<C> {
  /** Words an admin can act on, for a failed check. Never echoes SDK messages. */
  explain(err: unknown, check: string, config: C): string;
  /** The configuration as validation pins it (e.g. an AWS alias resolved to its key ARN). */
  pin?(config: C, description: KeyDescription): C;
  /** Releases clients and sockets. */
  close(): Promise<void>;
}

/** One cloud, built from its settings: the port, and how the control plane turns tenant input into configurations. */
export interface ProviderBinding<C extends KeyConfig = KeyConfig> {
  readonly kind: C['provider'];
  readonly provider: CloudKeyProvider<C>;
  /** Tenant input → configuration. Throws InvalidIdentifierError with the reason. */
  parse(input: unknown, tenant: TenantIdentity): C;
  /** What a customer must trust for this tenant (shown on the tenant). */
  identity(tenant: TenantIdentity): Record<string, unknown>;
  /** Setup instructions for a configuration (policies, grants, tags to apply). */
  hints(config: C, tenant: TenantIdentity): Record<string, unknown>;
  /** Re-applies tenant-owned values (ExternalId, service account) so they never come from stored or client data. */
  bindTenant(config: C, tenant: TenantIdentity): C;
}

/** What each cloud lib exports, once: its kind and how to build its binding from the environment. */
export interface ProviderModule<K extends ProviderKind = ProviderKind> {
  readonly kind: K;
  /** Reads the cloud's settings and builds the binding; throws with a message naming a bad variable. */
  create(env: ProviderEnv, observer: ProviderCallObserver): ProviderBinding<ConfigOf<K>>;
}

/** Narrows a configuration to one cloud's type by its discriminant. */
export function isConfigOf<K extends ProviderKind>(kind: K, config: KeyConfig): config is ConfigOf<K> {
  return config.provider === kind;
}

/**
 * One cloud's binding seen through the union type, for callers that hold a configuration of any cloud (the
 * registry, the jobs). Each call checks that the configuration belongs to this cloud: a configuration handed to
 * the wrong binding is a programming error and fails before any network call (as a rejection for the async calls).
 */
export function anyCloud<K extends ProviderKind>(kind: K, b: ProviderBinding<ConfigOf<K>>): ProviderBinding {
  const own = (config: KeyConfig): ConfigOf<K> => {
    if (isConfigOf(kind, config)) return config;
    throw new Error(`a ${config.provider} key configuration was handed to the ${kind} binding`);
  };
  const p = b.provider;
  const rewrap = p.rewrap?.bind(p);
  const extraChecks = p.extraChecks?.bind(p);
  const pin = p.pin?.bind(p);
  const provider: CloudKeyProvider = {
    kind,
    describe: async (c, scope) => p.describe(own(c), scope),
    wrap: async (c, kek, ctx) => p.wrap(own(c), kek, ctx),
    unwrap: async (c, wrapped, ctx) => p.unwrap(own(c), wrapped, ctx),
    ...(rewrap
      ? { rewrap: async (c: KeyConfig, ...rest: DropFirst<Parameters<typeof rewrap>>) => rewrap(own(c), ...rest) }
      : {}),
    ...(extraChecks
      ? {
          extraChecks: async (c: KeyConfig, ...rest: DropFirst<Parameters<typeof extraChecks>>) =>
            extraChecks(own(c), ...rest),
        }
      : {}),
    ...(pin ? { pin: (c: KeyConfig, d: KeyDescription) => pin(own(c), d) } : {}),
    explain: (err, check, c) => p.explain(err, check, own(c)),
    close: () => p.close(),
  };
  return {
    kind,
    provider,
    parse: (input, tenant) => b.parse(input, tenant),
    identity: (tenant) => b.identity(tenant),
    hints: (c, tenant) => b.hints(own(c), tenant),
    bindTenant: (c, tenant) => b.bindTenant(own(c), tenant),
  };
}

type DropFirst<T extends unknown[]> = T extends [unknown, ...infer R] ? R : never;
