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

/** vendor_canary_status: each worker records its canaries' results, the API shows them (docs/ARCHITECTURE.md "Positive control"). */
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

  /** One canary result; `unhealthySince` keeps the start of an unbroken failing run. */
  async record(r: {
    provider: string;
    healthy: boolean;
    errorClass: string | null;
    providerCode: string | null;
    target: string;
  }): Promise<void> {
    await this.ds.query(
      `INSERT INTO vendor_canary_status (provider, healthy, error_class, provider_code, target, checked_at, unhealthy_since)
       VALUES ($1, $2, $3, $4, $5, now(), CASE WHEN $2 THEN NULL ELSE now() END)
       ON CONFLICT (provider) DO UPDATE SET healthy = EXCLUDED.healthy, error_class = EXCLUDED.error_class,
         provider_code = EXCLUDED.provider_code, target = EXCLUDED.target, checked_at = EXCLUDED.checked_at,
         unhealthy_since = CASE WHEN EXCLUDED.healthy THEN NULL ELSE COALESCE(vendor_canary_status.unhealthy_since, now()) END`,
      [r.provider, r.healthy, r.errorClass, r.providerCode, r.target],
    );
  }
}
