import { Controller, Delete, HttpCode, Inject, Param } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import { ErrorCode } from '@app/keys';
import { AdminRoute, Claims, SERVICES } from '../auth';
import type { KeyholdServices } from '../../services';
import { pathId } from '../validation';

/**
 * Segment-level crypto-shred, for the key admin: destroys one segment's DEK for good (the row is deleted, a
 * tombstone keeps the id from ever being issued again; 410 SEGMENT_DESTROYED afterwards on every replica). Internal
 * services do the same on the internal listener (http/internal-segment-routes.ts).
 */
@Controller('v1/tenants/:tenantId/workspaces/:id/segments')
export class SegmentAdminController {
  constructor(@Inject(SERVICES) private readonly s: KeyholdServices) {}

  @Delete(':segmentId')
  @HttpCode(204)
  @AdminRoute('key_admin')
  async destroy(@Claims() c: AccessClaims, @Param('id') id: string, @Param('segmentId') segmentId: string): Promise<void> {
    await this.s.segments.destroy.execute({ kind: 'admin', id: c.sub }, c.tid, pathId(id, ErrorCode.WorkspaceNotFound), segmentId);
  }
}
