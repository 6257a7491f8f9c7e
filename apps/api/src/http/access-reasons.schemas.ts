import { ACCESS_REASONS } from '@app/keys';
import { z } from 'zod';

/** Request schemas of key access justifications (the contract names them: contract/routes-access-reasons.ts). */
export const accessReasonSchemas = {
  workspacePolicy: z
    .object({ deniedReasons: z.array(z.enum(ACCESS_REASONS)).max(ACCESS_REASONS.length), requireReason: z.boolean() })
    .strict(),
  principalReasons: z.object({ allowedReasons: z.array(z.enum(ACCESS_REASONS)).max(ACCESS_REASONS.length) }).strict(),
  keyUseQuery: z
    .object({
      workspaceId: z.string().uuid().optional(),
      from: z.string().datetime({ offset: true }).optional(),
      to: z.string().datetime({ offset: true }).optional(),
      bucket: z.enum(['minute', 'hour', 'day']).default('hour'),
    })
    .strict(),
};
