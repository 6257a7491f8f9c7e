export { createApiApp, ApiApp, ApiAppOptions } from './app';
export { ApiHandles } from './handles';
export { ApiModule } from './app.module';
export { openApiDocument } from './http/openapi';
