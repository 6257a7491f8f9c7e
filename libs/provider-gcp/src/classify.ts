import { type ErrorClass, ProviderError } from '@app/provider-port';

/** gRPC status codes Cloud KMS answers (numeric, as the SDK surfaces them on `err.code`). */
export const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/**
 * Keyhold failed to obtain an access token for the tenant's service account from the IAM Credentials API.
 * The service account lives in Keyhold's own project, so a refusal here is Keyhold's misconfiguration,
 * never the customer revoking access.
 */
export class ImpersonationError extends Error {
  override readonly name = 'ImpersonationError';
  constructor(
    /** HTTP status from IAM Credentials (0 when the request never got an answer). */
    readonly status: number,
    /** Google's status word (PERMISSION_DENIED, …) or a network error code. */
    readonly reason: string,
  ) {
    super(`impersonation failed: ${reason || 'no answer'}${status ? ` (HTTP ${status})` : ''}`);
  }
}

/** A response (or request) failed its CRC32C check: data was corrupted in transit. Retryable. */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
}

/**
 * Maps any failure of a Cloud KMS / IAM Credentials call to exactly one error class. Only definitive customer-side
 * answers (PERMISSION_DENIED, NOT_FOUND, version state) are revocation candidates; everything undecidable is
 * `ambiguous`. The message is built here from codes only: SDK messages can echo request data.
 */
export function classifyGcpError(err: unknown, operation: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const make = (cls: ErrorClass, code: string, what: string) =>
    new ProviderError(cls, 'gcp', operation, code, `GCP ${operation} failed: ${what} (${code}).`);

  if (err instanceof ImpersonationError) return classifyImpersonation(err, make);
  if (err instanceof IntegrityError)
    return make('unavailable', 'CRC32C_MISMATCH', 'data failed its CRC32C integrity check in transit');

  const e = (err ?? {}) as { code?: unknown; details?: unknown; message?: unknown };
  const details = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : '';
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code))
    return make('unavailable', e.code, 'the key service could not be reached');
  if (typeof e.code !== 'number') return make('ambiguous', 'UNKNOWN', 'unexpected failure');

  const code = String(e.code);
  switch (e.code) {
    case GRPC.PERMISSION_DENIED:
      return make('access_denied', code, 'the service account is not allowed to use the key');
    case GRPC.NOT_FOUND:
      return make('key_not_found', code, 'the key does not exist');
    case GRPC.FAILED_PRECONDITION:
      return classifyPrecondition(details, make, code);
    case GRPC.RESOURCE_EXHAUSTED:
      return make('throttled', code, 'the key service is throttling requests');
    case GRPC.UNAVAILABLE:
    case GRPC.DEADLINE_EXCEEDED:
    case GRPC.CANCELLED:
      return make('unavailable', code, 'the key service did not answer in time');
    case GRPC.INTERNAL:
      // A failed token refresh inside the gRPC metadata plugin surfaces as INTERNAL: it is Keyhold's own identity.
      if (
        /unable to impersonate/i.test(details) &&
        /PERMISSION_DENIED|FAILED_PRECONDITION|UNAUTHENTICATED|NOT_FOUND/.test(details)
      ) {
        return make('auth_misconfigured', code, "Keyhold could not act as the tenant's service account");
      }
      return make('unavailable', code, 'the key service failed internally');
    case GRPC.INVALID_ARGUMENT:
      if (operation === 'unwrap' || operation === 'decrypt') {
        return make('invalid_ciphertext', code, 'the wrapped key does not decrypt under this key and context');
      }
      return make('ambiguous', code, 'the key service rejected the request');
    case GRPC.UNAUTHENTICATED:
      return /expired/i.test(details)
        ? make('credentials_expired', code, "Keyhold's access token expired")
        : make('auth_misconfigured', code, "Keyhold's credentials were not accepted");
    default:
      return make('ambiguous', code, 'unexpected answer from the key service');
  }
}

function classifyPrecondition(
  details: string,
  make: (c: ErrorClass, code: string, what: string) => ProviderError,
  code: string,
): ProviderError {
  // Cloud KMS names the resource in the message, and a customer's key ring or key may be called "DISABLED": the
  // version state is read from "current state is: X" and the purpose from "incorrect key purpose", never from a name.
  if (/incorrect key purpose/i.test(details))
    return make('invalid_key_usage', code, 'the key cannot be used for symmetric encryption');
  const state = /current state is:\s*([A-Z_]+)/.exec(details)?.[1];
  if (state === 'DESTROY_SCHEDULED')
    return make('key_pending_deletion', code, 'the key version is scheduled for destruction');
  if (state === 'DESTROYED') return make('key_destroyed', code, 'the key version is destroyed');
  if (state === 'DISABLED') return make('key_disabled', code, 'the key version is disabled');
  if (state) return make('ambiguous', code, 'the key is not in a usable state');
  // Order matters: DESTROY_SCHEDULED contains DESTROY.
  if (/DESTROY_SCHEDULED/.test(details))
    return make('key_pending_deletion', code, 'the key version is scheduled for destruction');
  if (/DESTROYED/.test(details)) return make('key_destroyed', code, 'the key version is destroyed');
  if (/DISABLED/.test(details)) return make('key_disabled', code, 'the key version is disabled');
  if (/purpose/i.test(details))
    return make('invalid_key_usage', code, 'the key cannot be used for symmetric encryption');
  return make('ambiguous', code, 'the key is not in a usable state');
}

function classifyImpersonation(
  err: ImpersonationError,
  make: (c: ErrorClass, code: string, what: string) => ProviderError,
): ProviderError {
  const code = `iamcredentials:${err.status || err.reason}`;
  if (err.status === 429) return make('throttled', code, 'the IAM Credentials API is throttling token requests');
  if (err.status >= 500 || err.status === 0 || err.status === 408)
    return make('unavailable', code, 'the IAM Credentials API could not be reached');
  // 401/403/400/404: Keyhold's own identity or service account is misconfigured (the account is in Keyhold's project).
  return make('auth_misconfigured', code, "Keyhold could not act as the tenant's service account");
}
