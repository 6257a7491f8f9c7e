export {
  ERROR_CLASSES,
  REVOCATION_CANDIDATES,
  TRANSIENT_CLASSES,
  ErrorClass,
  ProviderError,
  InvalidIdentifierError,
  RewrapNotPermittedError,
  isRevocationCandidate,
  isTransient,
} from './errors';
export { WrapContext, KekIdentity, kekWrapContext, contextToMap, canonicalContext } from './context';
export {
  ProviderKind,
  AwsKeyConfig,
  AzureKeyConfig,
  GcpKeyConfig,
  KeyConfig,
  CallScope,
  KeyState,
  KeyDescription,
  WrappedKek,
  KeyProvider,
  ValidationCheck,
  ValidationReport,
} from './port';
export { runValidation } from './validation';
export {
  ProviderConfigs,
  ConfigOf,
  StoredKeyConfig,
  storedConfig,
  TenantIdentity,
  ProviderEnv,
  CloudKeyProvider,
  ProviderBinding,
  ProviderModule,
  isConfigOf,
  anyCloud,
} from './module';
export {
  ProviderCallObserver,
  ProviderCallEvent,
  ProviderCallListener,
  FailoverEvent,
  FailoverListener,
} from './observer';
export {
  KeySide,
  KEY_SIDES,
  Forms,
  replicaConfig,
  primaryConfig,
  sideConfig,
  sidesOf,
  sharesKeyMaterial,
  attachReplica,
  encodeForms,
  decodeForms,
  formsOf,
  keepForms,
  sidesToKeep,
  withReplicas,
} from './replica';
