import { MFA_POLICIES } from '@app/auth';
import { HISTORY_KINDS, OPERATION_STATES, SERVICE_PERMISSIONS } from '@app/keys';
import { KEY_STATES } from '@app/persistence';
import { SIEM_FORMATS, SIEM_KINDS } from '@app/siem';
import { z } from 'zod';
import './kit';

/**
 * The answers of the API as zod schemas (the document's response schemas; test/e2e/contract.test.ts parses real
 * answers with them). Enumerations come from the domain's own constants, so a new state or kind cannot be missing.
 */
const oneOf = <T extends string>(values: readonly T[]) => z.enum(values as [T, ...T[]]);

export const Permissions = z
  .array(z.enum(SERVICE_PERMISSIONS))
  .describe('dek:fetch is always granted; dek:destroy allows segment-level crypto-shred')
  .openapi('Permissions');
export const ServicePrincipalDetail = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    clientId: z.string(),
    disabled: z.boolean(),
    workspaceIds: z.array(z.string().uuid()),
    ipAllowList: z.array(z.string()).describe('CIDRs the principal may call from; empty = anywhere'),
    clientCertificateSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable()
      .describe(
        'SHA-256 fingerprint of the client certificate its tokens must arrive over (internal listener, mutual TLS); null = not bound',
      )
      .optional(),
    permissions: Permissions,
    createdAt: z.string().datetime(),
    secrets: z.array(
      z
        .object({
          id: z.string().uuid(),
          createdAt: z.string().datetime(),
          expiresAt: z.string().datetime().nullable(),
        })
        .strict(),
    ),
  })
  .strict()
  .openapi('ServicePrincipalDetail');
export const ServicePrincipalSecretCreated = z
  .object({
    id: z.string().uuid(),
    clientId: z.string(),
    secretId: z.string().uuid(),
    clientSecret: z.string().describe('shown once'),
    previousSecretsExpireAt: z.string().datetime().nullable(),
  })
  .openapi('ServicePrincipalSecretCreated');
export const Operation = z
  .object({
    id: z.string().uuid(),
    kind: oneOf(HISTORY_KINDS),
    workspaceId: z.string().uuid(),
    state: oneOf(OPERATION_STATES),
    step: z.string().nullable(),
    progress: z.object({ done: z.number().int(), total: z.number().int() }),
    error: z.string().nullable(),
    targetKeyConfigurationId: z.string().uuid().nullable().optional(),
    result: z
      .record(z.unknown())
      .nullable()
      .describe(
        'When succeeded, what the operation did, e.g. cmk-rewrap {keyVersion, kekVersions}, rekey {keyConfigurationId, kekVersions}',
      ),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime().optional(),
    finishedAt: z.string().datetime().nullable(),
  })
  .openapi('Operation');
export const OperationHistoryPage = z
  .object({
    operations: z.array(
      Operation.extend({ requestedBy: z.string().nullable(), startedAt: z.string().datetime().nullable() }),
    ),
    next: z.string().nullable().describe('cursor of the next page; null on the last'),
  })
  .openapi('OperationHistoryPage');
const awsIdentity = z.object({
  externalId: z.string(),
  trustedPrincipalArn: z.string(),
  trustPolicy: z.string().optional(),
});
const azureIdentity = z.object({
  clientId: z.string().nullable(),
  appName: z.string().optional(),
  externalId: z
    .string()
    .optional()
    .describe("the tenant's ExternalId: the value of the ownership tag on every Azure key given to this tenant"),
  ownershipTag: z.literal('keyhold-external-id').optional(),
});
/** A cloud's identity is absent when the cloud is not enabled, null when it could not be described. */
export const Tenant = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    createdAt: z.string().datetime().optional(),
    aws: awsIdentity.nullable().optional(),
    azure: azureIdentity.nullable().optional(),
    gcp: z.object({ serviceAccount: z.string() }).nullable().optional(),
  })
  .openapi('Tenant');
export const Invitation = z
  .object({
    id: z.string().uuid(),
    email: z.string(),
    role: z.enum(['key_admin', 'auditor']),
    expiresAt: z.string().datetime(),
  })
  .strict()
  .openapi('Invitation');
export const TenantCreated = Tenant.extend({ invitation: Invitation }).openapi('TenantCreated');
export const AdminUser = z
  .object({
    id: z.string().uuid(),
    email: z.string(),
    role: z.enum(['key_admin', 'auditor']),
    disabled: z.boolean(),
    createdAt: z.string().datetime(),
  })
  .openapi('AdminUser');
export const AdminUserList = z.object({ adminUsers: z.array(AdminUser) }).openapi('AdminUserList');
export const InvitationList = z
  .object({
    invitations: z.array(
      Invitation.extend({
        createdAt: z.string().datetime(),
        createdBy: z.string().optional(),
        state: z.enum(['pending', 'accepted', 'revoked', 'expired']),
      }),
    ),
  })
  .openapi('InvitationList');
export const InvitationDetails = z
  .object({
    tenantId: z.string().uuid(),
    tenantName: z.string(),
    email: z.string(),
    role: z.enum(['key_admin', 'auditor']),
    expiresAt: z.string().datetime(),
  })
  .openapi('InvitationDetails');
export const AcceptedInvitation = z
  .object({
    tenantId: z.string().uuid(),
    userId: z.string().uuid(),
    email: z.string(),
    role: z.enum(['key_admin', 'auditor']),
  })
  .openapi('AcceptedInvitation');
export const SsoNotConfigured = z
  .object({ configured: z.literal(false), redirectUri: z.string() })
  .openapi('SsoNotConfigured');
export const SsoConfiguration = z
  .object({
    configured: z.literal(true),
    issuer: z.string(),
    clientId: z.string(),
    clientSecretSet: z.literal(true),
    allowedEmailDomains: z.array(z.string()),
    groupsClaim: z.string(),
    roleMappings: z.array(
      z.object({ group: z.string().min(1).max(256), role: z.enum(['key_admin', 'auditor']) }).strict(),
    ),
    ssoRequired: z.boolean(),
    breakGlassAdminUserId: z.string().uuid().nullable().optional(),
    redirectUri: z.string().describe('register this at the IdP (from KEYHOLD_PUBLIC_URL, never from a request)'),
    version: z.number().int(),
    updatedAt: z.string().datetime().optional(),
  })
  .openapi('SsoConfiguration');
export const SsoSession = z
  .union([
    z.object({
      access_token: z.string(),
      token_type: z.literal('Bearer'),
      expires_in: z.number().int(),
      tenant_id: z.string().uuid(),
      email: z.string(),
      role: z.enum(['key_admin', 'auditor']),
    }),
    z.object({
      mfa_required: z.literal(true),
      mfa_token: z.string(),
      mfa_mode: z.enum(['verify', 'enrol']),
      methods: z.array(z.enum(['passkey', 'totp', 'recovery_code'])),
      expires_in: z.number().int(),
      tenant_id: z.string().uuid(),
      email: z.string(),
      role: z.enum(['key_admin', 'auditor']),
    }),
  ])
  .describe(
    "The session, or — when the tenant's MFA policy or the user's factors ask for one — the second sign-in step (continue at /v1/auth/mfa/… with mfa_token)",
  )
  .openapi('SsoSession');
export const MfaChallenge = z
  .object({
    mfa_required: z.literal(true),
    mfa_token: z.string(),
    mfa_mode: z.enum(['verify', 'enrol']),
    methods: z.array(z.enum(['passkey', 'totp', 'recovery_code'])),
    expires_in: z.number().int(),
  })
  .describe(
    'Answer of the password grant for a user with MFA (or under a policy requiring it): not a session; the mfa_token opens only /v1/auth/mfa/*',
  )
  .openapi('MfaChallenge');
export const MfaSignedIn = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    recovery_codes: z.array(z.string()).optional(),
    recovery_codes_remaining: z.number().int().optional(),
  })
  .openapi('MfaSignedIn');
export const WebAuthnOptions = z
  .object({ challenge: z.string(), rpId: z.string().optional(), rp: z.record(z.unknown()).optional() })
  .describe('PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON')
  .openapi('WebAuthnOptions');
export const TotpSetup = z
  .object({ factorId: z.string().uuid(), secret: z.string().describe('base32; shown once'), otpauthUri: z.string() })
  .openapi('TotpSetup');
export const Factor = z
  .object({
    id: z.string().uuid(),
    kind: z.enum(['totp', 'passkey']),
    label: z.string(),
    createdAt: z.string().datetime(),
    lastUsedAt: z.string().datetime().nullable().optional(),
  })
  .openapi('Factor');
export const FactorAdded = z
  .object({
    factor: Factor,
    recoveryCodes: z.array(z.string()).describe('only with your first factor; shown once').optional(),
  })
  .openapi('FactorAdded');
export const RecoveryCodes = z.object({ recoveryCodes: z.array(z.string()) }).openapi('RecoveryCodes');
export const MfaStatus = z
  .object({ factors: z.array(Factor), recoveryCodesRemaining: z.number().int(), policy: oneOf(MFA_POLICIES) })
  .openapi('MfaStatus');
export const MfaReset = z.object({ factorsRemoved: z.number().int() }).openapi('MfaReset');
export const TokenResponse = z
  .union([
    z.object({ access_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number().int() }),
    MfaChallenge,
  ])
  .openapi('TokenResponse');
const section = z.record(z.unknown());
export const KeyConfiguration = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    provider: z.enum(['aws', 'azure', 'gcp']),
    status: z.enum(['valid', 'invalid']),
    validation: z.object({
      checks: z.array(z.object({ name: z.string(), ok: z.boolean(), message: z.string() })),
      probeWarning: z
        .object({
          code: z.enum(['describe_denied']),
          errorClass: z.string(),
          providerCode: z.string(),
          message: z.string(),
          since: z.string().datetime(),
        })
        .describe(
          'Set by the access probe when the key works but met a refusal to fix (describe_denied); never a revocation',
        )
        .optional(),
    }),
    validatedAt: z.string().datetime().nullable().optional(),
    createdAt: z.string().datetime().optional(),
    aws: section
      .optional()
      .describe(
        "the identifiers given, under the provider's name (aws {keyArn, roleArn}, azure {keyId, tenantId}, gcp {keyName, serviceAccount})",
      ),
    azure: section.optional(),
    gcp: section.optional(),
    setup: z.record(z.unknown()).describe('what to grant or paste on the cloud side for this configuration'),
  })
  .openapi('KeyConfiguration');
export const Workspace = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    keyState: z.enum(KEY_STATES),
    keyConfigurationId: z.string().uuid().nullable(),
    kekVersion: z.number().int().nullable(),
    degraded: z.boolean(),
    updatedAt: z.string().datetime().optional(),
  })
  .openapi('Workspace');
export const OperationAccepted = z.object({ operationId: z.string().uuid() }).openapi('OperationAccepted');
export const ServicePrincipalCreated = z
  .object({
    id: z.string().uuid(),
    clientId: z.string(),
    clientSecret: z.string(),
    permissions: Permissions.optional(),
  })
  .openapi('ServicePrincipalCreated');
export const ServicePrincipal = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    clientId: z.string(),
    disabled: z.boolean(),
    workspaceIds: z.array(z.string().uuid()),
    ipAllowList: z.array(z.string()),
    clientCertificateSha256: z.string().nullable().optional(),
    permissions: Permissions,
    createdAt: z.string().datetime(),
  })
  .strict()
  .openapi('ServicePrincipal');
export const ServicePrincipalList = z
  .object({
    servicePrincipals: z.array(ServicePrincipal),
    next: z.string().nullable().describe('cursor of the next page; null on the last'),
  })
  .openapi('ServicePrincipalList');
export const AuditEvent = z
  .object({
    seq: z.number().int(),
    at: z.string().datetime(),
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    outcome: z.string(),
    details: z.record(z.unknown()),
    hash: z.string(),
    prevHash: z.string(),
    mac: z.string().nullable(),
  })
  .openapi('AuditEvent');
export const AuditPage = z
  .object({
    events: z.array(AuditEvent),
    next: z.string().nullable().describe('cursor of the next page (same filters and order); null on the last'),
  })
  .openapi('AuditPage');
export const AuditVerification = z
  .discriminatedUnion('ok', [
    z.object({
      ok: z.literal(true),
      count: z.number().int(),
      headHash: z.string(),
      checkpoints: z.number().int(),
      lastCheckpointSeq: z.number().int(),
      uncheckpointed: z.number().int().describe('records newer than the latest checkpoint'),
    }),
    z.object({
      ok: z.literal(false),
      count: z.number().int(),
      firstBadSeq: z.number().int(),
      reason: z.enum([
        'malformed',
        'tenant_mismatch',
        'reordered',
        'gap',
        'prev_mismatch',
        'modified',
        'mac_invalid',
        'checkpoint_signature_invalid',
        'forked',
        'truncated',
        'head_missing',
        'head_mismatch',
        'head_mac_invalid',
        'checkpoint_missing',
      ]),
      message: z.string(),
      record: z.number().int().optional().describe('position of the first bad record in the log (1-based)'),
    }),
  ])
  .openapi('AuditVerification');
export const Dek = z
  .object({ dek: z.string().describe('base64, 32 bytes'), dekId: z.string().uuid(), kekVersion: z.number().int() })
  .openapi('Dek');
export const DekBatch = z
  .object({ deks: z.array(Dek.extend({ segmentId: z.string().optional() })) })
  .openapi('DekBatch');
export const AuditCheckpoint = z
  .object({
    tenantId: z.string().uuid(),
    seq: z.number().int().min(1),
    headHash: z.string().regex(/^[0-9a-f]{64}$/),
    at: z.string().datetime(),
    keyId: z.string(),
    signature: z.string().describe('base64'),
  })
  .describe('Ed25519 signature over "keyhold-audit-checkpoint/v1\\n{tenantId}\\n{seq}\\n{headHash}\\n{at}" (UTF-8)')
  .openapi('AuditCheckpoint');
export const SiemDestination = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    kind: oneOf(SIEM_KINDS),
    format: oneOf(SIEM_FORMATS),
    url: z.string(),
    state: z.enum(['active', 'dead_letter']),
    cursorSeq: z.number().int().describe('last audit sequence the receiver acknowledged with a 2xx'),
    headSeq: z.number().int().describe("the tenant's newest audit sequence"),
    pendingEvents: z.number().int(),
    lagSeconds: z.number().describe('age of the oldest event not yet acknowledged (0 when caught up)'),
    failures: z.number().int().describe('consecutive failed attempts'),
    lastError: z.string().nullable().optional(),
    lastAttemptAt: z.string().datetime().nullable().optional(),
    lastDeliveredAt: z.string().datetime().nullable().optional(),
    deadLetteredAt: z.string().datetime().nullable().optional(),
    deliveredCount: z.number().int(),
    secretRotatedAt: z.string().datetime().optional(),
    previousSecretExpiresAt: z.string().datetime().nullable().optional(),
    createdAt: z.string().datetime(),
  })
  .describe('A SIEM destination with its delivery status (never its secret or token)')
  .openapi('SiemDestination');
export const VendorCanary = z
  .object({
    provider: z.enum(['aws', 'azure', 'gcp']),
    healthy: z.boolean(),
    errorClass: z.string().nullable().describe('provider error class of the last failure'),
    providerCode: z.string().nullable().describe("the cloud's own error code of the last failure"),
    target: z.string().describe('the vendor-owned canary key'),
    checkedAt: z.string().datetime(),
    unhealthySince: z.string().datetime().nullable(),
  })
  .openapi('VendorCanary');
