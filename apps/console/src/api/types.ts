/**
 * Shapes of the public admin API, named for the console. Every one is derived from the types openapi-typescript
 * generates from the API's OpenAPI document (schema.gen.ts, `npm run gen:api`), which the API builds from its zod
 * schemas: when the server's contract changes, the console stops compiling where it relied on the old one.
 */
import type { components, operations } from './schema.gen';

type S = components['schemas'];
/** The JSON body of an operation's success answer. */
export type Answer<O extends keyof operations, Status extends number = 200> =
  operations[O]['responses'] extends Record<Status, { content: { 'application/json': infer B } }> ? B : never;

export type Provider = S['KeyConfiguration']['provider'];
export type KeyState = S['Workspace']['keyState'];
export type OperationKind = S['Operation']['kind'];
export type OperationState = S['Operation']['state'];

/** A session: the `recovery_codes` only when a first factor was enrolled during sign-in (shown once). */
export type TokenResponse = S['MfaSignedIn'];
/** The password grant's answer for an admin with MFA: not a session, only a ticket to the second step. */
export type MfaChallenge = S['MfaChallenge'];
export type MfaMethod = MfaChallenge['methods'][number];
export type MfaPolicy = S['MfaPolicy']['policy'];
export type MfaFactor = S['Factor'];
export type MfaStatus = S['MfaStatus'];
export type TotpSetup = S['TotpSetup'];

export type Tenant = S['Tenant'];
export type AwsIdentity = NonNullable<Tenant['aws']>;
export type AzureIdentity = NonNullable<Tenant['azure']>;
export type GcpIdentity = NonNullable<Tenant['gcp']>;

export type KeyConfiguration = S['KeyConfiguration'];
export type ValidationCheck = KeyConfiguration['validation']['checks'][number];
/** e.g. describe_denied: the key service refuses to describe the key while Keyhold's unwrap works (never a revocation). */
export type ProbeWarning = NonNullable<KeyConfiguration['validation']['probeWarning']>;

/** What the registration form sends: the API takes any section and the provider module parses the one named. */
export type RegisterKeyConfiguration = S['RegisterKeyConfiguration'] &
  (
    | { provider: 'aws'; aws: { keyArn: string; roleArn: string; replica?: { keyArn: string } } }
    | { provider: 'azure'; azure: { keyId: string; tenantId: string; replica?: { keyId: string } } }
    | { provider: 'gcp'; gcp: { keyName: string; serviceAccount: string; replica?: { keyName: string } } }
  );

export type Workspace = S['Workspace'];
export type Operation = S['Operation'];
export type OperationHistoryPage = S['OperationHistoryPage'];
export type OperationHistoryEntry = OperationHistoryPage['operations'][number];

export type AuditEvent = S['AuditEvent'];
export type AuditPage = S['AuditPage'];
export type AuditVerification = S['AuditVerification'];
/** A signed checkpoint: Ed25519 by `keyId` over (tenant, seq, head hash, time); docs/AUDIT.md. */
export type AuditCheckpoint = S['AuditCheckpoint'];
export type AuditPublicKey = Answer<'listAuditPublicKeys'>['keys'][number];

/** `GET …/service-principals` item: never the secret (it is shown once, at creation). */
export type ServicePrincipal = S['ServicePrincipal'];
/** One principal with its live secrets (ids and lifetimes; never a secret or its hash). */
export type ServicePrincipalDetail = S['ServicePrincipalDetail'];
export type ServicePrincipalChange = S['UpdateServicePrincipal'];
/** A rotation's answer: the new secret, shown once, and when the previous one stops. */
export type RotatedSecret = S['ServicePrincipalSecretCreated'];
export type CreatedServicePrincipal = S['ServicePrincipalCreated'];

export type AdminRole = S['AdminUser']['role'];
export type AdminUser = S['AdminUser'];
export type Invitation = S['InvitationList']['invitations'][number];
export type InvitationDetails = S['InvitationDetails'];
/** An invitation just sent (its link went by email, never into this answer). */
export type InvitationSent = S['Invitation'];
export type AcceptedInvitation = S['AcceptedInvitation'];

/** A SIEM destination with its delivery status (docs/AUDIT.md "Streaming to a SIEM"); never its secret. */
export type SiemDestination = S['SiemDestination'];
export type SiemKind = SiemDestination['kind'];
export type SiemFormat = SiemDestination['format'];
/** Create and rotate answers: the signing secret is in this answer only. */
export type SiemDestinationWithSecret = Answer<'createSiemDestination', 201>;

/** Key access justifications (docs/ARCHITECTURE.md). */
export type WorkspaceReasonPolicy = S['WorkspaceAccessReasonPolicy'];
export type PrincipalReasons = S['ServicePrincipalAccessReasons'];
export type KeyUseByReason = S['KeyUseByReason'];
export type KeyUseBucket = KeyUseByReason['bucket'];
export type AccessReason = WorkspaceReasonPolicy['deniedReasons'][number];
export const ACCESS_REASONS: readonly AccessReason[] = [
  'CUSTOMER_INITIATED',
  'SCHEDULED_JOB',
  'BACKUP',
  'MIGRATION',
  'VENDOR_SUPPORT',
  'EMERGENCY',
];

/** One page of a list route: the items and the opaque cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

export type SortOrder = 'asc' | 'desc';

export interface WorkspaceQuery {
  q?: string;
  keyState?: KeyState[];
  keyConfigurationId?: string;
  degraded?: boolean;
  id?: string[];
  sort?: 'createdAt' | 'name';
  order?: SortOrder;
  limit?: number;
}

export interface KeyConfigurationQuery {
  q?: string;
  provider?: Array<'aws' | 'azure' | 'gcp'>;
  status?: Array<'valid' | 'invalid'>;
  sort?: 'createdAt' | 'name';
  order?: SortOrder;
  limit?: number;
}

/** The audit list's server-side filters: actions or prefixes (`dek.`), one workspace, a time range (ISO 8601). */
export interface AuditQuery {
  action?: string[];
  actor?: string;
  workspaceId?: string;
  from?: string;
  to?: string;
  order?: SortOrder;
  limit?: number;
}

export interface ServicePrincipalQuery {
  q?: string;
  disabled?: boolean;
  sort?: 'createdAt' | 'name';
  order?: SortOrder;
  limit?: number;
}

export type BulkRequest = S['BulkOperationRequest'];
export type BulkOperation = S['BulkOperation'];
export type BulkItem = BulkOperation['items'][number];
