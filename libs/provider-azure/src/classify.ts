import { ErrorClass, ProviderError } from '@app/provider-port';

/**
 * Maps an Azure SDK failure (Key Vault RestError, @azure/identity AuthenticationError, network, abort) to the
 * closed error-class set. Only Key Vault's definitive answers about the customer's key or grant become revocation
 * candidates; a firewall refusal or an app missing from the tenant is `ambiguous` (a network rule or a tenant
 * setting of the customer's, not proof that the key was revoked).
 * Messages are built from codes only: SDK messages may echo request data.
 */
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'REQUEST_SEND_ERROR',
]);

interface AzureErrorShape {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  details?: { error?: { code?: unknown; innererror?: { code?: unknown }; innerError?: { code?: unknown } } };
  errorResponse?: { error?: unknown; errorDescription?: unknown; error_codes?: unknown; errorCodes?: unknown };
  cause?: unknown;
}

export function classifyAzureError(err: unknown, operation: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err && typeof err === 'object' ? err : {}) as AzureErrorShape;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code =
    typeof e.code === 'string' ? e.code : typeof e.details?.error?.code === 'string' ? e.details.error.code : undefined;
  const inner = e.details?.error?.innererror?.code ?? e.details?.error?.innerError?.code;
  const innerCode = typeof inner === 'string' ? inner : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  const make = (cls: ErrorClass, providerCode: string, text: string) =>
    new ProviderError(cls, 'azure', operation, providerCode, text);

  if (name === 'AbortError' || /aborted/i.test(message))
    return make('unavailable', 'AbortError', 'The call to Azure Key Vault timed out.');
  if (/^(Authentication(Required)?Error|CredentialUnavailableError)$/.test(name) || e.errorResponse) {
    const aad = typeof e.errorResponse?.error === 'string' ? e.errorResponse.error : '';
    const desc = typeof e.errorResponse?.errorDescription === 'string' ? e.errorResponse.errorDescription : message;
    if (typeof e.statusCode === 'number' && e.statusCode >= 500)
      return make('unavailable', `Entra${e.statusCode}`, 'Microsoft Entra is unavailable.');
    // Entra throttles the client-credentials grant with 429 + Retry-After; `temporarily_unavailable` is OAuth's own
    // word for a transient refusal. Neither says anything about the customer or Keyhold's credentials.
    if (e.statusCode === 429) return make('throttled', 'Entra429', 'Microsoft Entra is throttling token requests.');
    // MSAL surfaces the OAuth error word at the start of its message when it keeps no status code.
    if (aad === 'temporarily_unavailable' || /^temporarily_unavailable\b/.test(message))
      return make('unavailable', 'temporarily_unavailable', 'Microsoft Entra is temporarily unavailable.');
    // Keyhold's application disabled for sign-in (its service principal in the customer's tenant, or the vendor's own
    // registration): a tenant setting, not proof that the key was revoked. Never a revocation; the vendor canary and
    // the operator see it.
    if (/AADSTS7000112/.test(desc))
      return make('ambiguous', 'AADSTS7000112', "Keyhold's application is disabled in the Entra tenant.");
    if (/AADSTS700016/.test(desc) || aad === 'unauthorized_client')
      return make(
        'ambiguous',
        'AADSTS700016',
        "Keyhold's application has no service principal in the customer's Entra tenant.",
      );
    if (/AADSTS7000215|AADSTS7000222/.test(desc) || aad === 'invalid_client')
      return make(
        'auth_misconfigured',
        'invalid_client',
        "Keyhold's application credentials were refused by Microsoft Entra.",
      );
    if (/AADSTS90002/.test(desc) || aad === 'invalid_tenant' || aad === 'invalid_request')
      return make('auth_misconfigured', 'invalid_tenant', 'The Entra tenant was not found.');
    if (hasNetworkCode(err)) return make('unavailable', 'network', 'Microsoft Entra could not be reached.');
    return make('auth_misconfigured', aad || name, 'A token for Azure Key Vault could not be obtained.');
  }
  if (
    /challenge resource .* does not match|not configured to acquire tokens for tenant|challenge authorization URI/i.test(
      message,
    )
  )
    return make(
      'auth_misconfigured',
      'ChallengeMismatch',
      "The vault's authentication challenge does not match the configured tenant or vault.",
    );
  if (status === undefined) {
    // The SDK's own nbf/exp check (when it holds a copy of the key's attributes) refuses before any call.
    if (/^Key \S+ expired at /.test(message))
      return make('invalid_key_usage', 'KeyExpired', 'The key has expired: it no longer wraps new keys.');
    if (/^Key \S+ can't be used before /.test(message))
      return make('invalid_key_usage', 'KeyNotYetValid', 'The key is not valid yet (nbf): it does not wrap new keys.');
    if (hasNetworkCode(err) || (code && NETWORK.has(code)))
      return make('unavailable', code ?? 'network', 'Azure Key Vault could not be reached.');
    if (/timeout|socket hang up/i.test(message))
      return make('unavailable', 'timeout', 'The call to Azure Key Vault timed out.');
    return make('ambiguous', name, 'Azure Key Vault failed in an unrecognised way.');
  }
  if (status === 429) return make('throttled', 'Throttled', 'Azure Key Vault throttled the request.');
  if (status >= 500 || status === 408) return make('unavailable', `HTTP${status}`, 'Azure Key Vault is unavailable.');
  if (status === 401) {
    if (/expired/i.test(message))
      return make('credentials_expired', 'Unauthorized', "Keyhold's token for Azure Key Vault expired.");
    return make('auth_misconfigured', 'Unauthorized', "Azure Key Vault refused Keyhold's token.");
  }
  if (status === 403) {
    if (innerCode === 'KeyDisabled') return make('key_disabled', 'KeyDisabled', 'The key is disabled.');
    if (innerCode === 'ForbiddenByRbac' || innerCode === 'ForbiddenByPolicy' || innerCode === 'AccessDenied')
      return make('access_denied', innerCode, 'Azure Key Vault denied access to the key.');
    if (innerCode === 'KeyOperationForbidden')
      return make('invalid_key_usage', innerCode, 'The key does not allow wrapKey/unwrapKey.');
    if (innerCode === 'ForbiddenByFirewall' || innerCode === 'ForbiddenByConnection')
      return make('ambiguous', innerCode, "The vault's firewall refused Keyhold's connection.");
    // Outside the key's nbf/exp Key Vault refuses wrapKey/encrypt (403, no inner code) but still unwraps: the customer
    // chose when the key may seal new data, which stops rotations and binds, never access to what exists.
    if (/on an expired key/i.test(message))
      return make('invalid_key_usage', 'KeyExpired', 'The key has expired: it no longer wraps new keys.');
    if (/not yet valid/i.test(message))
      return make('invalid_key_usage', 'KeyNotYetValid', 'The key is not valid yet (nbf): it does not wrap new keys.');
    return make('ambiguous', innerCode ?? code ?? 'Forbidden', 'Azure Key Vault refused the request.');
  }
  if (status === 404) {
    if (code === 'KeyNotFound' || innerCode === 'KeyNotFound')
      return make('key_not_found', 'KeyNotFound', 'The key was not found (deleted or never existed).');
    return make('ambiguous', code ?? 'NotFound', 'Azure Key Vault answered 404.');
  }
  if (status === 400 && (code === 'BadParameter' || innerCode === 'BadParameter') && /unwrap|decrypt/i.test(operation))
    return make(
      'invalid_ciphertext',
      'BadParameter',
      'Azure Key Vault could not unwrap the key (wrong key or corrupted ciphertext).',
    );
  if (status === 409) return make('ambiguous', code ?? 'Conflict', 'Azure Key Vault answered 409 (conflict).');
  return make('ambiguous', code ?? `HTTP${status}`, 'Azure Key Vault refused the request.');
}

function hasNetworkCode(err: unknown): boolean {
  let cur: unknown = err;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && NETWORK.has(c)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
