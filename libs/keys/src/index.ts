export { DomainError, ErrorCode, notFound } from './errors';
export { ProviderRegistry, ProviderBinding, Binding } from './provider-registry';
export { KekResolver, KekResolverHooks, kekContext } from './kek-resolver';
export { DekService, DekPrincipal, IssuedDek, DekServiceOptions } from './dek-service';
export { Actor, Dispatcher, KekInvalidator, KeysDeps } from './context';
export { workspaceView, keyConfigurationView, tenantView, operationView } from './views';
export { CreateTenant, GetTenant, CreateAdminUser, CreateServicePrincipal } from './tenant.use-cases';
export {
  RegisterKeyConfiguration,
  RegisterKeyConfigurationInput,
  ValidateKeyConfiguration,
  ListKeyConfigurations,
  GetKeyConfiguration,
  DeleteKeyConfiguration,
  carriesExternalId,
} from './key-configuration.use-cases';
export {
  CreateWorkspace,
  ListWorkspaces,
  GetWorkspace,
  BindWorkspace,
  BindResult,
  RequestOperation,
  RequestRevocationCheck,
  GetOperation,
} from './workspace.use-cases';
export { DestroyWorkspace, DestroyWorkspaceInput } from './workspace-destroy.use-case';
