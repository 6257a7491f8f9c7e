import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { accessReasonRoutes } from './contract/routes-access-reasons';
import { listRoutes } from './contract/routes-lists';
import { auditRoutes } from './contract/routes-audit';
import { credentialsRoutes } from './contract/routes-credentials';
import { mfaRoutes } from './contract/routes-mfa';
import { servicePrincipalsRoutes } from './contract/routes-service-principals';
import { siemRoutes } from './contract/routes-siem';
import { ssoRoutes } from './contract/routes-sso';
import { tenantRoutes } from './contract/routes-tenant';

export type Schema = Record<string, unknown>;

/**
 * OpenAPI 3.1 document of both APIs, generated from the zod schemas (apps/api/src/http/contract). Every route
 * registered by the controllers and dek-routes appears here; test/e2e checks the two lists agree, the hardening
 * suite iterates it, and the console's types are generated from it (npm run gen:api).
 */
export function openApiDocument(serverUrl?: string): Schema {
  const doc = new OpenApiGeneratorV31(contractRegistry().definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Keyhold',
      version: '1.0.0',
      description:
        'Customer-managed keys control plane: tenant admin API (/v1, public listener) and internal DEK API (/internal/v1, the internal listener KEYHOLD_INTERNAL_PORT, which also serves POST /v1/auth/token for client_credentials and /metrics; the public listener answers 404 for /internal/* and /metrics).',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
  });
  return doc as unknown as Schema;
}

/** Every route with its zod schemas (the contract test checks real answers against them). */
export function contractRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'operatorToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'A platform operator token (KEYHOLD_OPERATOR_TOKENS / KEYHOLD_OPERATOR_TOKEN)',
  });
  registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'aud keyhold-admin; roles key_admin, auditor',
  });
  registry.registerComponent('securitySchemes', 'serviceToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'aud keyhold-internal; role service',
  });
  for (const add of [
    tenantRoutes,
    credentialsRoutes,
    ssoRoutes,
    mfaRoutes,
    servicePrincipalsRoutes,
    auditRoutes,
    siemRoutes,
    accessReasonRoutes,
    listRoutes,
  ])
    add(registry);
  return registry;
}
