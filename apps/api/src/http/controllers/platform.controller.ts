import { Controller, Get } from '@nestjs/common';
import { ListVendorCanaries } from '@app/keys';
import { OperatorRoute } from '../auth';

/** What the platform operator needs to know about Keyhold's own side of the clouds. */
@Controller()
export class PlatformController {
  constructor(private readonly listVendorCanariesUseCase: ListVendorCanaries) {}

  /**
   * The vendor-owned canaries: while one fails, Keyhold's own identity path to that cloud is broken (its IAM/SCP,
   * credentials or service accounts) and customer revocation verdicts on it are held in access_suspect.
   */
  @Get('v1/platform/vendor-canaries')
  @OperatorRoute()
  async vendorCanaries() {
    const rows = await this.listVendorCanariesUseCase.execute();
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
