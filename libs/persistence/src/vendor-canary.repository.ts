import type { DataSource } from 'typeorm';
import { rows } from './sql';

/** The last result of one provider's vendor-owned canary (platform data: no tenant, no customer key). */
export interface VendorCanaryStatus {
  provider: string;
  healthy: boolean;
  errorClass: string | null;
  providerCode: string | null;
  /** The canary key's identifier (vendor-owned). */
  target: string;
  checkedAt: Date;
  /** Since when it has been failing without interruption; null while healthy. */
  unhealthySince: Date | null;
}

/** Read side of vendor_canary_status (the workers write it; docs/ARCHITECTURE.md "Positive control"). */
export class VendorCanaryRepository {
  constructor(private readonly ds: DataSource) {}

  list(): Promise<VendorCanaryStatus[]> {
    return rows<VendorCanaryStatus>(
      this.ds,
      `SELECT provider, healthy, error_class AS "errorClass", provider_code AS "providerCode", target,
              checked_at AS "checkedAt", unhealthy_since AS "unhealthySince"
         FROM vendor_canary_status ORDER BY provider`,
    );
  }
}
