import type { DataSource } from 'typeorm';
import { KeyConfigurationRepository } from './key-configurations.repository';
import { DekRepository, KekVersionRepository, OperationRepository } from './keys.repository';
import { AdminUserRepository, ServicePrincipalRepository, TenantRepository } from './tenants.repository';
import { VendorCanaryRepository } from './vendor-canary.repository';
import { WorkspaceRepository } from './workspaces.repository';

export interface Repositories {
  readonly ds: DataSource;
  readonly tenants: TenantRepository;
  readonly adminUsers: AdminUserRepository;
  readonly servicePrincipals: ServicePrincipalRepository;
  readonly keyConfigurations: KeyConfigurationRepository;
  readonly workspaces: WorkspaceRepository;
  readonly keks: KekVersionRepository;
  readonly deks: DekRepository;
  readonly operations: OperationRepository;
  readonly vendorCanaries: VendorCanaryRepository;
}

export function createRepositories(ds: DataSource): Repositories {
  return {
    ds,
    tenants: new TenantRepository(ds),
    adminUsers: new AdminUserRepository(ds),
    servicePrincipals: new ServicePrincipalRepository(ds),
    keyConfigurations: new KeyConfigurationRepository(ds),
    workspaces: new WorkspaceRepository(ds),
    keks: new KekVersionRepository(ds),
    deks: new DekRepository(ds),
    operations: new OperationRepository(ds),
    vendorCanaries: new VendorCanaryRepository(ds),
  };
}
