import { Controller, Get, Inject } from '@nestjs/common';
import { OperatorRoute, SERVICES } from '../auth';
import type { KeyholdServices } from '../../services';

/** What the platform operator needs to know about Keyhold's own side of the clouds. */
@Controller()
export class PlatformController {
  constructor(@Inject(SERVICES) private readonly s: KeyholdServices) {}

  /**
   * The vendor-owned canaries: while one fails, Keyhold's own identity path to that cloud is broken (its IAM/SCP,
   * credentials or service accounts) and customer revocation verdicts on it are held in access_suspect.
   */
  @Get('v1/platform/vendor-canaries')
  @OperatorRoute()
  async vendorCanaries() {
    const rows = await this.s.repos.vendorCanaries.list();
    return {
      canaries: rows.map((c) => ({
        provider: c.provider,
        healthy: c.healthy,
        errorClass: c.errorClass,
        providerCode: c.providerCode,
        target: c.target,
        checkedAt: c.checkedAt.toISOString(),
        unhealthySince: c.unhealthySince ? c.unhealthySince.toISOString() : null,
      })),
    };
  }
}
