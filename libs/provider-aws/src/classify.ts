import { ErrorClass, ProviderError } from '@app/provider-port';

/**
 * Maps an AWS SDK failure to the closed error-class set (docs/ARCHITECTURE.md, "Provider error classes").
 * Only what AWS says definitively about the customer's key or trust becomes a revocation candidate; anything
 * unrecognised is `ambiguous`, never a revocation class. Messages are built from the error *name* only:
 * SDK messages and response objects can echo request data.
 */

const BY_NAME: Record<string, ErrorClass> = {
  AccessDeniedException: 'access_denied',
  AccessDenied: 'access_denied',
  DisabledException: 'key_disabled',
  NotFoundException: 'key_not_found',
  ThrottlingException: 'throttled',
  Throttling: 'throttled',
  TooManyRequestsException: 'throttled',
  LimitExceededException: 'throttled',
  RequestLimitExceeded: 'throttled',
  KMSInternalException: 'unavailable',
  KeyUnavailableException: 'unavailable',
  DependencyTimeoutException: 'unavailable',
  ServiceUnavailable: 'unavailable',
  ServiceUnavailableException: 'unavailable',
  InternalFailure: 'unavailable',
  InternalError: 'unavailable',
  TimeoutError: 'unavailable',
  RequestTimeout: 'unavailable',
  RequestTimeoutException: 'unavailable',
  AbortError: 'unavailable',
  InvalidCiphertextException: 'invalid_ciphertext',
  IncorrectKeyException: 'invalid_ciphertext',
  InvalidKeyUsageException: 'invalid_key_usage',
  ExpiredToken: 'credentials_expired',
  ExpiredTokenException: 'credentials_expired',
  RequestExpired: 'credentials_expired',
  UnrecognizedClientException: 'auth_misconfigured',
  InvalidClientTokenId: 'auth_misconfigured',
  InvalidSignatureException: 'auth_misconfigured',
  SignatureDoesNotMatch: 'auth_misconfigured',
  MissingAuthenticationToken: 'auth_misconfigured',
  MissingAuthenticationTokenException: 'auth_misconfigured',
  IncompleteSignature: 'auth_misconfigured',
  RegionDisabledException: 'auth_misconfigured',
  CredentialsProviderError: 'auth_misconfigured',
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ESOCKETTIMEDOUT',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
  cause?: unknown;
}

function shape(err: unknown): SdkErrorShape {
  return err && typeof err === 'object' ? err : {};
}

export function classifyAwsError(err: unknown, operation: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = shape(err);
  const name = typeof e.name === 'string' ? e.name : 'UnknownError';
  const code = typeof e.code === 'string' ? e.code : undefined;
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const make = (cls: ErrorClass, providerCode: string): ProviderError =>
    new ProviderError(cls, 'aws', operation, providerCode, `AWS ${operation} failed: ${providerCode} (${cls})`);

  if (name === 'KMSInvalidStateException') {
    // KMSInvalidState covers PendingDeletion, PendingImport and unavailable custom key stores, told apart only by
    // the message KMS gives for the state. PendingImport means the key's imported material is gone: the customer
    // deleted it (DeleteImportedKeyMaterial, AWS's documented way to make such a key unusable at once) or let it
    // reach the ValidTo they set. Like a disabled key it is the customer's act and reversible (re-importing the
    // same material), so it is key_disabled. Anything else stays ambiguous.
    const msg = typeof e.message === 'string' ? e.message : '';
    if (/pending (replica )?deletion/i.test(msg)) return make('key_pending_deletion', name);
    if (/pending import/i.test(msg)) return make('key_disabled', name);
    return make('ambiguous', name);
  }
  const byName = BY_NAME[name];
  if (byName) return make(byName, name);
  // The SDK's retry layer turns a thrown value that is not an Error of its own realm (e.g. a socket error
  // raised across a VM context boundary) into `new Error("AWS SDK error wrapper for <Name>: <text>")`,
  // losing name and code: recover the name, and network codes, from that wrapper's text.
  const wrapped =
    typeof e.message === 'string' ? /^AWS SDK error wrapper for (\w+)(?::\s*(.*))?$/.exec(e.message) : null;
  if (wrapped) {
    const inner = BY_NAME[wrapped[1]];
    if (inner) return make(inner, wrapped[1]);
    const netCode = /\b(E[A-Z_]{3,})\b/.exec(wrapped[2] ?? '')?.[1];
    if (netCode && NETWORK_CODES.has(netCode)) return make('unavailable', netCode);
    if (/socket hang up/i.test(wrapped[2] ?? '')) return make('unavailable', 'ECONNRESET');
  }
  if (code && NETWORK_CODES.has(code)) return make('unavailable', code);
  const causeCode = shape(e.cause).code;
  if (typeof causeCode === 'string' && NETWORK_CODES.has(causeCode)) return make('unavailable', causeCode);
  if (status === 429) return make('throttled', name);
  if (typeof status === 'number' && status >= 500) return make('unavailable', name);
  return make('ambiguous', name);
}
