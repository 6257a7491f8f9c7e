import { randomBytes } from 'node:crypto';
import type { SeededTenant } from './world';

/**
 * A well-formed request body for an OpenAPI body schema, filled from a seeded tenant (names prefixed with `label`),
 * or undefined for a schema this table does not know. The isolation matrix sends it so a denial is about who asks,
 * not what was sent; the fuzzer mutates it so mutations reach deep validation. Each section overrides the few
 * schemas it needs differently (the token grant, the fuzzer's fuller bodies).
 */
export function wellFormedBody(ref: string | null | undefined, t: SeededTenant, label: string): Record<string, unknown> | undefined {
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
      return { token: randomBytes(32).toString('base64url'), password: `pw-${randomBytes(10).toString('hex')}` };
    case 'PasswordResetRequest':
      return { tenant_id: t.id, email: `nobody-${n}@example.com` };
    case 'RegisterKeyConfiguration':
      return { name: `${label}-${n}`, provider: 'aws', aws: { keyArn: t.keyArn, roleArn: t.roleArn } };
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
    case 'CreateSiemDestination':
      // .invalid never resolves (RFC 2606): nothing is ever sent anywhere.
      return { name: `${label}-${n}`, kind: 'webhook', format: 'ocsf', url: `https://${label}-${n}.siem.invalid/keyhold` };
    case 'RotateSiemSecret':
      return {};
    default:
      return undefined;
  }
}
