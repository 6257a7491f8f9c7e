import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { path, routes } from './kit';
import { RotateServicePrincipalSecret, UpdateServicePrincipal } from './requests';
import { ServicePrincipalDetail, ServicePrincipalSecretCreated } from './responses';

const TEXT_principals = {
  400: 'malformed or invalid request (code names the problem)',
  401: 'missing or invalid token',
  403: 'role not allowed (separation of duties)',
  404: 'not found (also: another tenant, outside scope, malformed id)',
  415: 'body must be application/json',
};

export function servicePrincipalsRoutes(registry: OpenAPIRegistry): void {
  const route = routes(registry, TEXT_principals);
  route('post', '/v1/tenants/{tenantId}/service-principals/{id}/secrets', {
    id: 'rotateServicePrincipalSecret',
    summary:
      'New client secret (shown once); the previous one keeps working for overlapSeconds, then stops with its tokens',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: RotateServicePrincipalSecret,
    ok: [201, ServicePrincipalSecretCreated],
    errors: [400, 401, 403, 404, 415],
  });
  route('delete', '/v1/tenants/{tenantId}/service-principals/{id}/secrets/{secretId}', {
    id: 'revokeServicePrincipalSecret',
    summary: 'Revoke one secret now (and the tokens issued for it, on every replica)',
    access: 'key_admin',
    params: path('tenantId', 'id', 'secretId'),
    ok: [204, null],
    errors: [401, 403, 404],
  });
  route('get', '/v1/tenants/{tenantId}/service-principals/{id}', {
    id: 'getServicePrincipal',
    summary: 'One service principal with its live secrets (ids and expiry, never a secret or hash)',
    access: 'readers',
    params: path('tenantId', 'id'),
    ok: [200, ServicePrincipalDetail],
    errors: [401, 403, 404],
  });
  route('patch', '/v1/tenants/{tenantId}/service-principals/{id}', {
    id: 'updateServicePrincipal',
    summary:
      'Disable/enable, rename, change the workspace scope or the source-address allow-list (takes effect on every replica)',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    body: UpdateServicePrincipal,
    ok: [200, ServicePrincipalDetail],
    errors: [400, 401, 403, 404, 415],
  });
  route('delete', '/v1/tenants/{tenantId}/service-principals/{id}', {
    id: 'deleteServicePrincipal',
    summary: 'Delete a service principal (its tokens stop on every replica)',
    access: 'key_admin',
    params: path('tenantId', 'id'),
    ok: [204, null],
    errors: [401, 403, 404],
  });
}
