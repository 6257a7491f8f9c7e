import type { ServicePrincipalSummary, VendorCanaryStatus } from '@app/persistence';
import type { KeysDeps } from './context';

/** GET …/service-principals: the tenant's service principals (no secrets). */
export interface ListServicePrincipalsCommand {
  readonly tenantId: string;
}

export class ListServicePrincipals {
  constructor(private readonly deps: KeysDeps) {}

  execute(cmd: ListServicePrincipalsCommand): Promise<ServicePrincipalSummary[]> {
    return this.deps.repos.servicePrincipals.list(cmd.tenantId);
  }
}

/** The platform operator's view of Keyhold's own canaries on each cloud. */
export class ListVendorCanaries {
  constructor(private readonly deps: KeysDeps) {}

  execute(): Promise<VendorCanaryStatus[]> {
    return this.deps.repos.vendorCanaries.list();
  }
}
