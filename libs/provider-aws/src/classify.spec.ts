import { ERROR_CLASSES } from '@app/provider-port';
import { classifyAwsError } from './classify';

/** Errors shaped as the SDK throws them (name, $metadata, Node network codes). */
function sdkError(name: string, status?: number, message = 'x', extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name, $metadata: status ? { httpStatusCode: status } : {}, ...extra });
}

describe('classifyAwsError', () => {
  it.each([
    [sdkError('AccessDeniedException', 400), 'access_denied'],
    [sdkError('AccessDenied', 403), 'access_denied'],
    [sdkError('DisabledException', 400), 'key_disabled'],
    [
      sdkError('KMSInvalidStateException', 400, 'arn:aws:kms:us-east-1:1:key/k is pending deletion.'),
      'key_pending_deletion',
    ],
    [sdkError('KMSInvalidStateException', 400, 'arn:aws:kms:us-east-1:1:key/k is pending import.'), 'key_disabled'],
    [sdkError('KMSInvalidStateException', 400, 'arn:aws:kms:us-east-1:1:key/k is unavailable.'), 'ambiguous'],
    [
      sdkError(
        'InvalidSignatureException',
        400,
        'Signature expired: 20261204T100000Z is now earlier than 20261204T100100Z (20261204T100600Z - 5 min.)',
      ),
      'auth_misconfigured',
    ],
    [sdkError('NotFoundException', 400), 'key_not_found'],
    [sdkError('ThrottlingException', 400), 'throttled'],
    [sdkError('SomethingNew', 429), 'throttled'],
    [sdkError('KMSInternalException', 500), 'unavailable'],
    [sdkError('KeyUnavailableException', 500), 'unavailable'],
    [sdkError('DependencyTimeoutException', 503), 'unavailable'],
    [sdkError('SomethingNew', 502), 'unavailable'],
    [sdkError('Error', undefined, 'connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }), 'unavailable'],
    [sdkError('Error', undefined, 'socket hang up', { code: 'ECONNRESET' }), 'unavailable'],
    [sdkError('Error', undefined, 'getaddrinfo EAI_AGAIN kms', { code: 'EAI_AGAIN' }), 'unavailable'],
    [sdkError('TimeoutError', undefined, 'timed out', { code: 'ETIMEDOUT' }), 'unavailable'],
    [sdkError('AbortError'), 'unavailable'],
    [new Error('AWS SDK error wrapper for TimeoutError: socket hang up'), 'unavailable'],
    [sdkError('InvalidCiphertextException', 400), 'invalid_ciphertext'],
    [sdkError('IncorrectKeyException', 400), 'invalid_ciphertext'],
    [sdkError('InvalidKeyUsageException', 400), 'invalid_key_usage'],
    [sdkError('ExpiredTokenException', 400), 'credentials_expired'],
    [sdkError('ExpiredToken', 400), 'credentials_expired'],
    [sdkError('UnrecognizedClientException', 400), 'auth_misconfigured'],
    [sdkError('InvalidClientTokenId', 403), 'auth_misconfigured'],
    [sdkError('InvalidSignatureException', 400), 'auth_misconfigured'],
    [sdkError('SignatureDoesNotMatch', 403), 'auth_misconfigured'],
    [sdkError('SomethingNew', 400), 'ambiguous'],
    [sdkError('SomethingNew', 403), 'ambiguous'],
    ['a string', 'ambiguous'],
    [undefined, 'ambiguous'],
  ])('%p → %s', (err, cls) => {
    const e = classifyAwsError(err, 'unwrap');
    expect(e.errorClass).toBe(cls);
    expect(ERROR_CLASSES).toContain(e.errorClass);
    expect(e.provider).toBe('aws');
    expect(e.operation).toBe('unwrap');
  });

  it('never copies the SDK message (it can echo request data) into its own', () => {
    const e = classifyAwsError(sdkError('AccessDeniedException', 400, 'secret-looking request data'), 'wrap');
    expect(e.message).not.toContain('secret-looking');
    expect(e.providerCode).toBe('AccessDeniedException');
  });
});
