import { ProviderError } from '@app/provider-port';
import { classifyGcpError, GRPC, ImpersonationError, IntegrityError } from './classify';

/** The shape @grpc/grpc-js gives a failed call (ServiceError): numeric code, details, message "<code> <NAME>: details". */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} X: ${details}`), { code, details, metadata: {} });
}

const cls = (err: unknown, op = 'wrap') => classifyGcpError(err, op).errorClass;

describe('classifyGcpError', () => {
  it('maps the definitive customer-side answers', () => {
    expect(cls(grpcError(GRPC.PERMISSION_DENIED, "Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied"))).toBe(
      'access_denied',
    );
    expect(cls(grpcError(GRPC.NOT_FOUND, 'CryptoKey projects/p/... not found.'))).toBe('key_not_found');
  });

  it('reads the version state out of FAILED_PRECONDITION, most specific first', () => {
    const v = 'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1';
    expect(cls(grpcError(GRPC.FAILED_PRECONDITION, `${v} is not enabled, current state is: DISABLED.`))).toBe(
      'key_disabled',
    );
    expect(cls(grpcError(GRPC.FAILED_PRECONDITION, `${v} is not enabled, current state is: DESTROY_SCHEDULED.`))).toBe(
      'key_pending_deletion',
    );
    expect(cls(grpcError(GRPC.FAILED_PRECONDITION, `${v} is not enabled, current state is: DESTROYED.`))).toBe(
      'key_destroyed',
    );
    expect(
      cls(grpcError(GRPC.FAILED_PRECONDITION, 'The request cannot be fulfilled: key purpose ASYMMETRIC_SIGN')),
    ).toBe('invalid_key_usage');
    expect(cls(grpcError(GRPC.FAILED_PRECONDITION, 'something else'))).toBe('ambiguous');
  });

  it('reads Cloud KMS\'s purpose mismatch (FAILED_PRECONDITION "incorrect key purpose") as invalid_key_usage on wrap and unwrap, never a revocation', () => {
    const k = 'projects/p/locations/l/keyRings/r/cryptoKeys/k';
    const msg = `${k} has incorrect key purpose: ASYMMETRIC_SIGN; expected key purpose is: ENCRYPT_DECRYPT.`;
    expect(cls(grpcError(GRPC.FAILED_PRECONDITION, msg), 'wrap')).toBe('invalid_key_usage');
    expect(cls(grpcError(GRPC.FAILED_PRECONDITION, msg), 'unwrap')).toBe('invalid_key_usage');
  });

  it('takes the version state from "current state is:", not from a key name that happens to spell a state', () => {
    const named = (id: string) => `projects/p/locations/l/keyRings/DESTROYED/cryptoKeys/${id}/cryptoKeyVersions/1`;
    expect(
      cls(
        grpcError(
          GRPC.FAILED_PRECONDITION,
          `${named('DISABLED')} is not enabled, current state is: DESTROY_SCHEDULED.`,
        ),
      ),
    ).toBe('key_pending_deletion');
    expect(
      cls(
        grpcError(
          GRPC.FAILED_PRECONDITION,
          `${named('DESTROY_SCHEDULED')} is not enabled, current state is: DISABLED.`,
        ),
      ),
    ).toBe('key_disabled');
    expect(
      cls(
        grpcError(
          GRPC.FAILED_PRECONDITION,
          `projects/p/locations/l/keyRings/r/cryptoKeys/DISABLED has incorrect key purpose: MAC; expected key purpose is: ENCRYPT_DECRYPT.`,
        ),
      ),
    ).toBe('invalid_key_usage');
  });

  it('treats throttling, deadlines and outages as transient', () => {
    expect(cls(grpcError(GRPC.RESOURCE_EXHAUSTED, 'Quota exceeded'))).toBe('throttled');
    expect(cls(grpcError(GRPC.UNAVAILABLE, 'Connection reset'))).toBe('unavailable');
    expect(cls(grpcError(GRPC.DEADLINE_EXCEEDED, 'Deadline exceeded'))).toBe('unavailable');
    expect(cls(grpcError(GRPC.INTERNAL, 'Internal error'))).toBe('unavailable');
    expect(cls(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('unavailable');
    expect(cls(new IntegrityError('ciphertext checksum mismatch'))).toBe('unavailable');
  });

  it('calls INVALID_ARGUMENT on unwrap an invalid ciphertext, and on wrap ambiguous', () => {
    expect(cls(grpcError(GRPC.INVALID_ARGUMENT, 'Decryption failed'), 'unwrap')).toBe('invalid_ciphertext');
    expect(cls(grpcError(GRPC.INVALID_ARGUMENT, 'bad request'), 'wrap')).toBe('ambiguous');
  });

  it("blames Keyhold's own identity, never the customer, for authentication and impersonation failures", () => {
    expect(
      cls(grpcError(GRPC.UNAUTHENTICATED, 'Request had invalid authentication credentials: the access token expired.')),
    ).toBe('credentials_expired');
    expect(cls(grpcError(GRPC.UNAUTHENTICATED, 'Request had invalid authentication credentials.'))).toBe(
      'auth_misconfigured',
    );
    expect(cls(new ImpersonationError(403, 'PERMISSION_DENIED'))).toBe('auth_misconfigured');
    expect(cls(new ImpersonationError(404, 'NOT_FOUND'))).toBe('auth_misconfigured'); // the vendor's service account does not exist
    expect(cls(new ImpersonationError(400, 'FAILED_PRECONDITION'))).toBe('auth_misconfigured');
    expect(cls(new ImpersonationError(401, 'UNAUTHENTICATED'))).toBe('auth_misconfigured');
    expect(
      cls(
        grpcError(
          GRPC.INTERNAL,
          'Getting metadata from plugin failed with error: PERMISSION_DENIED: unable to impersonate: denied',
        ),
      ),
    ).toBe('auth_misconfigured');
  });

  it('treats an unreachable or throttling IAM Credentials API as transient', () => {
    expect(cls(new ImpersonationError(429, 'RESOURCE_EXHAUSTED'))).toBe('throttled');
    expect(cls(new ImpersonationError(503, 'UNAVAILABLE'))).toBe('unavailable');
    expect(cls(new ImpersonationError(0, 'DEADLINE_EXCEEDED'))).toBe('unavailable');
  });

  it('answers ambiguous for anything it cannot decide', () => {
    expect(cls(grpcError(GRPC.UNKNOWN, '?'))).toBe('ambiguous');
    expect(cls(grpcError(GRPC.ABORTED, '?'))).toBe('ambiguous');
    expect(cls(new Error('boom'))).toBe('ambiguous');
    expect(cls(undefined)).toBe('ambiguous');
  });

  it('never echoes the SDK message (it can carry request data) and keeps a ProviderError as is', () => {
    const e = classifyGcpError(grpcError(GRPC.PERMISSION_DENIED, 'secret-looking-detail c2VjcmV0'), 'wrap');
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.message).not.toContain('secret-looking-detail');
    expect(e.providerCode).toBe('7');
    expect(classifyGcpError(e, 'unwrap')).toBe(e);
  });
});
