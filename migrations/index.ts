import { InitialSchema1763880000000 } from './1763880000000-InitialSchema';
import { JobsSupport1763890000000 } from './1763890000000-JobsSupport';
import { NoResidue1764000000000 } from './1764000000000-NoResidue';
import { SegmentTombstonesAndDekQuota1764100000000 } from './1764100000000-SegmentTombstonesAndDekQuota';
import { ServicePrincipalPermissions1764100000001 } from './1764100000001-ServicePrincipalPermissions';
import { Credentials1764300000000 } from './1764300000000-Credentials';
import { AuditTamperEvidence1764400000000 } from './1764400000000-AuditTamperEvidence';
import { ServicePrincipalCredentials1764500000000 } from './1764500000000-ServicePrincipalCredentials';
import { KekGeneration1764600000000 } from './1764600000000-KekGeneration';
import { VendorCanary1764600000001 } from './1764600000001-VendorCanary';
import { SsoConfigurations1764700000000 } from './1764700000000-SsoConfigurations';
import { RevocationEpisodes1764700000000 } from './1764700000000-RevocationEpisodes';
import { ServicePrincipalCertificateBinding1764700000040 } from './1764700000040-ServicePrincipalCertificateBinding';
import { AdminMfa1764700000100 } from './1764700000100-AdminMfa';
import { SiemDestinations1764700000000 } from './1764700000000-SiemDestinations';
import { OperationsHistoryIndex1764700000001 } from './1764700000001-OperationsHistoryIndex';
import { ListsAndBulkOperations1764800000000 } from './1764800000000-ListsAndBulkOperations';
import { AccessJustifications1764800000070 } from './1764800000070-AccessJustifications';
import { BulkPendingItems1764800000090 } from './1764800000090-BulkPendingItems';
import { AuditListFilters1764800000200 } from './1764800000200-AuditListFilters';

/** Every migration class, in order. The DataSource lists them explicitly (no glob: works under jest, swc and dist). */
export const MIGRATIONS = [
  InitialSchema1763880000000,
  JobsSupport1763890000000,
  NoResidue1764000000000,
  SegmentTombstonesAndDekQuota1764100000000,
  ServicePrincipalPermissions1764100000001,
  Credentials1764300000000,
  AuditTamperEvidence1764400000000,
  ServicePrincipalCredentials1764500000000,
  KekGeneration1764600000000,
  VendorCanary1764600000001,
  SsoConfigurations1764700000000,
  RevocationEpisodes1764700000000,
  ServicePrincipalCertificateBinding1764700000040,
  AdminMfa1764700000100,
  SiemDestinations1764700000000,
  OperationsHistoryIndex1764700000001,
  ListsAndBulkOperations1764800000000,
  AccessJustifications1764800000070,
  BulkPendingItems1764800000090,
  AuditListFilters1764800000200,
];
