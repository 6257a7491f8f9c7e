import type { VendorCanaryStatus } from '@app/persistence';
import type { KeysDeps } from './context';

/** The platform operator's view of Keyhold's own canaries on each cloud. */
export class ListVendorCanaries {
  constructor(private readonly deps: KeysDeps) {}

  execute(): Promise<VendorCanaryStatus[]> {
    return this.deps.repos.vendorCanaries.list();
  }
}
