import type { KeyConfigurationRepository, KeyConfigurationRow } from '@app/persistence';
import { storedConfig, type KeyConfig, type TenantIdentity } from '@app/provider-port';

/** Re-applies tenant-owned values to a stored configuration (the provider binding's bindTenant). */
export type BindTenant = (config: KeyConfig, tenant: TenantIdentity) => KeyConfig;

/**
 * Key configurations as the jobs hand them to a provider: the tenant-owned values (the AWS ExternalId is the
 * tenant's, never read from the stored configuration or from a client) re-applied on every read.
 */
export class BoundKeyConfigurations {
  constructor(
    private readonly repo: KeyConfigurationRepository,
    private readonly bindTenant: BindTenant = (config) => config,
  ) {}

  async find(tenantId: string, id: string): Promise<KeyConfigurationRow | null> {
    const r = await this.repo.findWithTenant(tenantId, id);
    return r ? { ...r.row, ...storedConfig(this.bindTenant(r.row.config, r.tenant)) } : null;
  }
}
