import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { path, routes } from './kit';
import { CreateSiemDestination, RotateSiemSecret } from './requests';
import { SiemDestination } from './responses';

const TEXT_siem = {
  400: 'error',
  401: 'error',
  403: 'error',
  404: 'error',
  409: 'error',
  415: 'error',
};

export function siemRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_siem);
  route('get', '/v1/tenants/{tenantId}/siem-destinations', {
    id: 'listSiemDestinations',
    summary: 'SIEM destinations with their delivery status, lag and dead-letter state',
    access: 'readers',
    params: path('tenantId'),
    ok: [200, z.object({ destinations: z.array(SiemDestination) })],
    errors: [401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/siem-destinations', {
    id: 'createSiemDestination',
    summary:
      'Stream the audit log to a SIEM (webhook with HMAC signature, Splunk HEC or JSON lines; native, CEF or OCSF fields)',
    access: 'key_admin',
    params: path('tenantId'),
    body: CreateSiemDestination,
    ok: [
      201,
      z.object({
        destination: SiemDestination,
        secret: z.string().describe('webhook / JSON-lines signing secret: shown in this answer only').optional(),
      }),
      'created',
    ],
    errors: [400, 401, 403, 404, 409, 415],
  });
  route('get', '/v1/tenants/{tenantId}/siem-destinations/{id}', {
    id: 'getSiemDestination',
    summary: 'One SIEM destination with its delivery status',
    access: 'readers',
    params: path('tenantId', 'id'),
    ok: [200, SiemDestination],
    errors: [401, 403, 404],
  });
  route('delete', '/v1/tenants/{tenantId}/siem-destinations/{id}', {
    id: 'deleteSiemDestination',
    summary: 'Stop streaming to a destination and forget it (and its secret)',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    ok: [204, null, 'deleted'],
    errors: [401, 403, 404],
  });
  route('post', '/v1/tenants/{tenantId}/siem-destinations/{id}/secret', {
    id: 'rotateSiemDestinationSecret',
    summary: 'New signing secret (shown once), or a new Splunk HEC token in the body; used from the next delivery',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: RotateSiemSecret,
    optionalBody: true,
    ok: [
      200,
      z.object({
        destination: SiemDestination,
        secret: z.string().describe('webhook / JSON-lines signing secret: shown in this answer only').optional(),
      }),
      'rotated',
    ],
    errors: [400, 401, 403, 404, 415],
  });
  route('post', '/v1/tenants/{tenantId}/siem-destinations/{id}/retry', {
    id: 'retrySiemDestination',
    summary: 'Take a dead-lettered destination back: delivery resumes from the last acknowledged event',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    ok: [200, z.object({ destination: SiemDestination }), 'active again'],
    errors: [401, 403, 404],
  });
}
