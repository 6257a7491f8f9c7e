import { randomBytes } from 'node:crypto';
import type { SeededTenant } from './world';

/**
 * A well-formed request body for an OpenAPI body schema, filled from a seeded tenant (names prefixed with `label`),
 * or undefined for a schema this table does not know. The isolation matrix sends it so a denial is about who asks,
 * not what was sent; the fuzzer mutates it so mutations reach deep validation. Each section overrides the few
 * schemas it needs differently (the token grant, the fuzzer's fuller bodies).
 */
export function wellFormedBody(
  ref: string | null | undefined,
  t: SeededTenant,
  label: string,
): Record<string, unknown> | undefined {
  const n = randomBytes(3).toString('hex');
  switch (ref) {
    case 'CreateTenant':
      return { name: `${label}-${n}`, admin: { email: `${label}-${n}@example.com` } };
    case 'CreateInvitation':
      return { email: `${label}-${n}@example.com`, role: 'auditor' };
    case 'UpdateAdminUser':
      return { role: 'auditor' };
    case 'ChangePassword':
      // never the right current password: a body sent by the suite must not end the key admin's own session
      return { currentPassword: `not-it-${n}`, newPassword: `pw-${randomBytes(10).toString('hex')}` };
    case 'OneTimeToken':
      return { token: randomBytes(32).toString('base64url') };
    case 'AcceptInvitation':
    case 'CompletePasswordReset':
      return { token: randomBytes(32).toString('base64url'), password: `pw-${randomBytes(10).toString('hex')}` };
    case 'PasswordResetRequest':
      return { tenant_id: t.id, email: `nobody-${n}@example.com` };
    case 'RegisterKeyConfiguration':
      return { name: `${label}-${n}`, provider: 'aws', aws: { keyArn: t.keyArn, roleArn: t.roleArn } };
    case 'WorkspaceAccessReasonPolicyInput':
      // the default policy: no reason refused, none required
      return { deniedReasons: [], requireReason: false };
    case 'ServicePrincipalAccessReasonsInput':
      // the default allowance: every reason but the vendor's support staff and emergency access
      return { allowedReasons: ['CUSTOMER_INITIATED', 'SCHEDULED_JOB', 'BACKUP', 'MIGRATION'] };
    case 'BulkOperationRequest':
      // a re-key of the unbound workspace: accepted, and that one item fails without changing anything
      return { action: 'rekey', keyConfigurationId: t.keyConfigurationId, workspaceIds: [t.unboundWorkspaceId] };
    case 'CreateWorkspace':
      return { name: `${label}-${n}` };
    case 'Binding':
      return { keyConfigurationId: t.keyConfigurationId };
    case 'OperationRequest':
      return { kind: 'revocation-check' };
    case 'CreateServicePrincipal':
      return { name: `${label}-${n}`, workspaceIds: [t.workspaceId] };
    case 'BatchGet':
      return { segmentIds: [`${label}-${n}`] };
    case 'UpdateServicePrincipal':
      return { name: `${label}-${n}`, workspaceIds: [t.workspaceId] };
    case 'RotateServicePrincipalSecret':
      return { overlapSeconds: 60 };
    case 'ServicePrincipalPermissions':
      return { permissions: ['dek:fetch'] };
    case 'SsoConfigurationInput':
      // `.invalid` never resolves (RFC 6761): the body is well formed and the issuer's discovery fails fast (422).
      return {
        issuer: `https://idp-${n}.invalid/realms/${label}`,
        clientId: `${label}-${n}`,
        clientSecret: `secret-${n}`,
        allowedEmailDomains: ['example.com'],
        roleMappings: [{ group: `${label}-admins`, role: 'key_admin' }],
      };
    // MFA: a challenge token of the issued shape that names no sign-in (so the second-step routes reach their
    // lookup), a code of the right shape, a credential of the browser's JSON shape that does not verify.
    case 'MfaChallengeToken':
      return { mfa_token: randomBytes(32).toString('base64url') };
    case 'MfaCode':
    case 'MfaRecoveryCode':
      return { mfa_token: randomBytes(32).toString('base64url'), code: '123456' };
    case 'MfaEnrolTotp':
      return { mfa_token: randomBytes(32).toString('base64url'), label: `${label}-${n}` };
    case 'MfaConfirmTotpAtSignIn':
      return { mfa_token: randomBytes(32).toString('base64url'), factorId: t.id, code: '123456' };
    case 'MfaPasskeyAssertion':
      return { mfa_token: randomBytes(32).toString('base64url'), credential: webAuthnAssertion() };
    case 'MfaPasskeyRegistrationAtSignIn':
      return {
        mfa_token: randomBytes(32).toString('base64url'),
        credential: webAuthnAttestation(),
        label: `${label}-${n}`,
      };
    case 'StartTotp':
      return { label: `${label}-${n}` };
    case 'TotpCode':
      return { code: '123456' };
    case 'RegisterPasskey':
      return { credential: webAuthnAttestation(), label: `${label}-${n}` };
    case 'Empty':
      return {};
    case 'MfaPolicy':
      // never a stricter policy: a body sent by the suite must not make the seeded admins' next sign-in need a factor
      return { policy: 'none' };
    case 'CreateSiemDestination':
      // .invalid never resolves (RFC 2606): nothing is ever sent anywhere.
      return {
        name: `${label}-${n}`,
        kind: 'webhook',
        format: 'ocsf',
        url: `https://${label}-${n}.siem.invalid/keyhold`,
      };
    case 'RotateSiemSecret':
      return {};
    default:
      return undefined;
  }
}

const b64u = (n: number) => randomBytes(n).toString('base64url');

/** A PublicKeyCredential (registration) in @simplewebauthn/browser's JSON shape, with random content. */
function webAuthnAttestation() {
  const id = b64u(32);
  return {
    id,
    rawId: id,
    type: 'public-key',
    response: { clientDataJSON: b64u(64), attestationObject: b64u(128), transports: ['internal'] },
    clientExtensionResults: {},
  };
}

/** A PublicKeyCredential (authentication) in the same shape, with random content. */
function webAuthnAssertion() {
  const id = b64u(32);
  return {
    id,
    rawId: id,
    type: 'public-key',
    response: { clientDataJSON: b64u(64), authenticatorData: b64u(37), signature: b64u(70) },
    clientExtensionResults: {},
  };
}
