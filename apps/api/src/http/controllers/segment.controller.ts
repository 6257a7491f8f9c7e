import { Controller, Delete, HttpCode, Param } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import { ErrorCode, DestroySegment } from '@app/keys';
import { AdminRoute, Claims } from '../auth';
import { pathId } from '../validation';

/**
 * Segment-level crypto-shred, for the key admin: destroys one segment's DEK for good (the row is deleted, a
 * tombstone keeps the id from ever being issued again; 410 SEGMENT_DESTROYED afterwards on every replica). Internal
 * services do the same on the internal listener (http/internal-segment-routes.ts).
 */
@Controller('v1/tenants/:tenantId/workspaces/:id/segments')
export class SegmentAdminController {
  constructor(private readonly destroySegmentUseCase: DestroySegment) {}

  @Delete(':segmentId')
  @HttpCode(204)
  @AdminRoute('key_admin')
  async destroy(
    @Claims() c: AccessClaims,
    @Param('id') id: string,
    @Param('segmentId') segmentId: string,
  ): Promise<void> {
    await this.destroySegmentUseCase.execute({
      by: { kind: 'admin', id: c.sub },
      tenantId: c.tid,
      workspaceId: pathId(id, ErrorCode.WorkspaceNotFound),
      segmentId,
    });
  }
}
