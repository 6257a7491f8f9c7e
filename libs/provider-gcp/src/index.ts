export { GcpProviderSettings, loadGcpSettings, serviceAccountForTenant } from './settings';
export { GcpKmsProvider, createGcpProvider } from './provider';
export { classifyGcpError, ImpersonationError, IntegrityError } from './classify';
export { parseGcpKeyConfigInput, parseGcpKeyName, ParsedGcpKeyName } from './parse';
export { crc32c } from './crc32c';
export { fetchOverAgent } from './tls-fetch';
export { gcpProviderModule } from './module';
