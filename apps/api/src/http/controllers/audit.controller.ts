import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { AuditIntegrityError, AuditBuffer, AuditLog } from '@app/audit';
import type { AccessClaims } from '@app/auth';
import { DomainError, ErrorCode } from '@app/keys';
import { AdminRoute, Claims } from '../auth';
import { parseBody, schemas } from '../validation';

/**
 * Audit tamper evidence (docs/AUDIT.md): Keyhold's checkpoint public keys (public, like a JWKS: a customer pins
 * them out of band and verifies offline), a tenant's signed checkpoints, and sealing the head on demand.
 */
@Controller()
export class AuditController {
  constructor(
    private readonly audit: AuditLog,
    private readonly auditBuffer: AuditBuffer,
  ) {}

  @Get('v1/audit/public-keys')
  publicKeys() {
    return { keys: this.audit.keys.published };
  }

  @Get('v1/tenants/:tenantId/audit-events/checkpoints')
  @AdminRoute('key_admin', 'auditor')
  async listCheckpoints(@Claims() c: AccessClaims, @Query() query: Record<string, string>) {
    const q = parseBody(schemas.checkpointQuery, { ...query });
    return this.audit.listCheckpoints(c.tid, q.after, q.limit);
  }

  /** Seals what is written now (buffered provider-call records first). 409 when the log no longer verifies. */
  @Post('v1/tenants/:tenantId/audit-events/checkpoints')
  @HttpCode(200)
  @AdminRoute('key_admin', 'auditor')
  async createCheckpoint(@Claims() c: AccessClaims) {
    await this.auditBuffer.flush();
    try {
      return { checkpoint: await this.audit.checkpoint(c.tid) };
    } catch (err) {
      if (err instanceof AuditIntegrityError)
        throw new DomainError(
          ErrorCode.AuditLogTampered,
          `the audit log does not verify (${err.verdict.reason} at seq ${err.verdict.firstBadSeq}); Keyhold will not sign it`,
        );
      throw err;
    }
  }
}
