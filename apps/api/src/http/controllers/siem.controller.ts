import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import type { AccessClaims } from '@app/auth';
import { SIEM_FORMATS, SIEM_KINDS, SiemDestinations } from '@app/siem';
import { z } from 'zod';
import { actorOf, AdminRoute, Claims } from '../auth';
import { parseBody, pathId } from '../validation';

export const schemas = {
  create: z
    .object({
      name: z
        .string()
        .trim()
        .min(1)
        .max(100)
        .regex(/^[\w .:-]+$/, 'letters, digits, space, _ . : - only'),
      kind: z.enum(SIEM_KINDS),
      format: z.enum(SIEM_FORMATS).default('native'),
      url: z.string().max(2048),
      token: z.string().max(256).optional(),
    })
    .strict(),
  rotate: z
    .object({
      token: z.string().max(256).optional(),
      overlapSeconds: z
        .number()
        .int()
        .min(0)
        .max(7 * 86_400)
        .default(0),
    })
    .strict(),
};

/**
 * SIEM destinations of the caller's tenant (docs/AUDIT.md "Streaming to a SIEM"): key admins create, rotate,
 * delete and retry; auditors read. A secret is in the answer of create/rotate only.
 */
@Controller('v1/tenants/:tenantId/siem-destinations')
export class SiemController {
  constructor(private readonly siem: SiemDestinations) {}

  @Get()
  @AdminRoute('key_admin', 'auditor')
  async list(@Claims() c: AccessClaims) {
    return { destinations: await this.siem.list(c.tid) };
  }

  @Post()
  @HttpCode(201)
  @AdminRoute('key_admin')
  create(@Claims() c: AccessClaims, @Body() body: unknown) {
    const b = parseBody(schemas.create, body);
    return this.siem.create(actorOf(c), c.tid, {
      name: b.name,
      kind: b.kind,
      format: b.format,
      url: b.url,
      token: b.token,
    });
  }

  @Get(':id')
  @AdminRoute('key_admin', 'auditor')
  get(@Claims() c: AccessClaims, @Param('id') id: string) {
    return this.siem.get(c.tid, pathId(id));
  }

  @Delete(':id')
  @HttpCode(204)
  @AdminRoute('key_admin')
  async remove(@Claims() c: AccessClaims, @Param('id') id: string) {
    await this.siem.remove(actorOf(c), c.tid, pathId(id));
  }

  @Post(':id/secret')
  @HttpCode(200)
  @AdminRoute('key_admin')
  rotate(@Claims() c: AccessClaims, @Param('id') id: string, @Body() body: unknown) {
    const destinationId = pathId(id);
    const b = parseBody(schemas.rotate, body ?? {});
    return this.siem.rotateSecret(actorOf(c), c.tid, destinationId, b.token, b.overlapSeconds);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @AdminRoute('key_admin')
  async retry(@Claims() c: AccessClaims, @Param('id') id: string) {
    return { destination: await this.siem.retry(actorOf(c), c.tid, pathId(id)) };
  }
}
