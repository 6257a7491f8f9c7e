export { createApiApp, ApiApp, ApiAppOptions } from './app';
export { KeyholdServices } from './services';
export { openApiDocument } from './http/openapi';
