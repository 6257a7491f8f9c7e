import type { DataSource } from 'typeorm';
import { AccessReasonRepository } from './access-reasons.repository';
import { BulkOperationRepository } from './bulk-operations.repository';
import { AdminAccountRepository, OneTimeLinkRepository } from './admin-accounts.repository';
import { KeyConfigurationRepository } from './key-configurations.repository';
import { DekRepository } from './deks.repository';
import { KekVersionRepository } from './kek-versions.repository';
import { KeyConfigurationAccessRepository } from './key-configuration-access.repository';
import { OperationRepository } from './operations.repository';
import { SegmentRepository } from './segments.repository';
import { SsoRepository } from './sso.repository';
import { AdminUserRepository, ServicePrincipalRepository, TenantRepository } from './tenants.repository';
import { VendorCanaryRepository } from './vendor-canary.repository';
import { WorkspaceRepository } from './workspaces.repository';

export interface Repositories {
  readonly ds: DataSource;
  readonly tenants: TenantRepository;
  readonly adminUsers: AdminUserRepository;
  readonly adminAccounts: AdminAccountRepository;
  readonly oneTimeLinks: OneTimeLinkRepository;
  readonly servicePrincipals: ServicePrincipalRepository;
  readonly keyConfigurations: KeyConfigurationRepository;
  readonly keyConfigurationAccess: KeyConfigurationAccessRepository;
  readonly workspaces: WorkspaceRepository;
  readonly keks: KekVersionRepository;
  readonly deks: DekRepository;
  readonly operations: OperationRepository;
  readonly segments: SegmentRepository;
  readonly vendorCanaries: VendorCanaryRepository;
  readonly sso: SsoRepository;
  readonly accessReasons: AccessReasonRepository;
  readonly bulkOperations: BulkOperationRepository;
}

export function createRepositories(ds: DataSource): Repositories {
  return {
    ds,
    tenants: new TenantRepository(ds),
    adminUsers: new AdminUserRepository(ds),
    adminAccounts: new AdminAccountRepository(ds),
    oneTimeLinks: new OneTimeLinkRepository(ds),
    servicePrincipals: new ServicePrincipalRepository(ds),
    keyConfigurations: new KeyConfigurationRepository(ds),
    keyConfigurationAccess: new KeyConfigurationAccessRepository(),
    workspaces: new WorkspaceRepository(ds),
    keks: new KekVersionRepository(ds),
    deks: new DekRepository(ds),
    operations: new OperationRepository(ds),
    segments: new SegmentRepository(ds),
    vendorCanaries: new VendorCanaryRepository(ds),
    sso: new SsoRepository(ds),
    accessReasons: new AccessReasonRepository(ds),
    bulkOperations: new BulkOperationRepository(ds),
  };
}
