/** Response shapes of the public admin API (docs/API.md). Fields the console does not rely on are optional. */

export type Provider = 'aws' | 'azure' | 'gcp';

export type KeyState =
  | 'unbound'
  | 'provisioning'
  | 'active'
  | 'rewrapping'
  | 'rekeying'
  | 'kek_rotating'
  | 'access_suspect'
  | 'shredded'
  | 'destroyed';

export type OperationKind = 'cmk-rewrap' | 'kek-rotation' | 'revocation-check' | 'reinstate' | 'rekey';
export type OperationState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** Only when a first factor was enrolled during sign-in: shown once. */
  recovery_codes?: string[];
}

export type MfaMethod = 'passkey' | 'totp' | 'recovery_code';

/** The password grant's answer for an admin with MFA: not a session, only a ticket to the second step. */
export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
  mfa_mode: 'verify' | 'enrol';
  methods: MfaMethod[];
  expires_in: number;
}

export type MfaPolicy = 'none' | 'mfa_required' | 'passkey_required_for_key_admins';

export interface MfaFactor {
  id: string;
  kind: 'totp' | 'passkey';
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface MfaStatus {
  factors: MfaFactor[];
  recoveryCodesRemaining: number;
  policy: MfaPolicy;
}

export interface TotpSetup {
  factorId: string;
  secret: string;
  otpauthUri: string;
}

export interface AwsIdentity {
  externalId: string;
  trustedPrincipalArn: string;
  trustPolicy?: string;
}
export interface AzureIdentity {
  clientId: string | null;
  appName?: string;
  tenantId?: string;
  /** The tenant's ExternalId: the value of the ownership tag on every Azure key given to this tenant. */
  externalId?: string;
  /** The ownership tag's name (`keyhold-external-id`). */
  ownershipTag?: string;
}
export interface GcpIdentity {
  serviceAccount: string;
}

export interface Tenant {
  id: string;
  name: string;
  createdAt?: string;
  aws?: AwsIdentity | null;
  azure?: AzureIdentity | null;
  gcp?: GcpIdentity | null;
}

export interface ValidationCheck {
  name: string;
  ok: boolean;
  message: string;
}

/** e.g. describe_denied: the key service refuses to describe the key while Keyhold's unwrap works (never a revocation). */
export interface ProbeWarning {
  code: string;
  errorClass: string;
  providerCode: string;
  message: string;
  since: string;
}

export interface KeyConfiguration {
  id: string;
  name: string;
  provider: Provider;
  status: 'valid' | 'invalid' | string;
  /** probeWarning: set by the access probe (not by validation) when the key works but met a refusal to fix. */
  validation: { checks: ValidationCheck[]; probeWarning?: ProbeWarning };
  validatedAt?: string | null;
  createdAt?: string;
  aws?: { keyArn?: string; roleArn?: string; [k: string]: unknown };
  azure?: { keyId?: string; tenantId?: string; [k: string]: unknown };
  gcp?: { keyName?: string; serviceAccount?: string; [k: string]: unknown };
  /** Setup instructions the API composed for this configuration (policies / grants to paste), when it has them. */
  setup?: Record<string, unknown>;
}

export type RegisterKeyConfiguration =
  | { name: string; provider: 'aws'; aws: { keyArn: string; roleArn: string } }
  | { name: string; provider: 'azure'; azure: { keyId: string; tenantId: string } }
  | { name: string; provider: 'gcp'; gcp: { keyName: string; serviceAccount: string } };

export interface Workspace {
  id: string;
  name: string;
  keyState: KeyState;
  keyConfigurationId: string | null;
  kekVersion: number | null;
  degraded: boolean;
  updatedAt?: string;
}

export interface Operation {
  id: string;
  kind: OperationKind | string;
  workspaceId: string;
  state: OperationState;
  step?: string | null;
  progress: { done: number; total: number };
  error: string | { code?: string; message?: string } | null;
  /** When succeeded: what it did, per kind (e.g. cmk-rewrap `{keyVersion, kekVersions}`, rekey `{keyConfigurationId, kekVersions}`). */
  result?: Record<string, unknown> | null;
  createdAt?: string;
  finishedAt?: string | null;
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: Record<string, unknown> | null;
  hash: string;
  prevHash: string;
  mac?: string | null;
}

export interface AuditPage {
  events: AuditEvent[];
  next: number | null;
}

export type AuditVerification =
  | { ok: true; count: number; headHash: string; checkpoints: number; lastCheckpointSeq: number; uncheckpointed: number }
  | { ok: false; count: number; firstBadSeq?: number; headHash?: string; reason?: string; message?: string };

/** A signed checkpoint: Ed25519 by `keyId` over (tenant, seq, head hash, time); docs/AUDIT.md. */
export interface AuditCheckpoint {
  tenantId: string;
  seq: number;
  headHash: string;
  at: string;
  keyId: string;
  signature: string;
}

export interface AuditPublicKey {
  keyId: string;
  algorithm: 'Ed25519';
  publicKeyPem: string;
  current: boolean;
}

/** `GET …/service-principals` item: never the secret (it is shown once, at creation). */
export interface ServicePrincipal {
  id: string;
  name: string;
  clientId: string;
  workspaceIds: string[];
  createdAt: string;
  disabled: boolean;
  ipAllowList: string[];
  /** SHA-256 fingerprint of the client certificate its tokens must arrive over (internal listener, mutual TLS). */
  clientCertificateSha256?: string | null;
}

/** One principal with its live secrets (ids and lifetimes; never a secret or its hash). */
export interface ServicePrincipalDetail extends ServicePrincipal {
  secrets: Array<{ id: string; createdAt: string; expiresAt: string | null }>;
}

export interface ServicePrincipalChange {
  name?: string;
  disabled?: boolean;
  workspaceIds?: string[];
  ipAllowList?: string[];
  clientCertificateSha256?: string | null;
}

/** A rotation's answer: the new secret, shown once, and when the previous one stops. */
export interface RotatedSecret {
  id: string;
  clientId: string;
  secretId: string;
  clientSecret: string;
  previousSecretsExpireAt: string | null;
}

export interface CreatedServicePrincipal {
  id: string;
  clientId: string;
  clientSecret: string;
}

export type AdminRole = 'key_admin' | 'auditor';

export interface AdminUser {
  id: string;
  email: string;
  role: AdminRole;
  disabled: boolean;
  createdAt: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: AdminRole;
  expiresAt: string;
  createdAt?: string;
  createdBy?: string;
  state?: 'pending' | 'accepted' | 'revoked' | 'expired';
}

export interface InvitationDetails {
  tenantId: string;
  tenantName: string;
  email: string;
  role: AdminRole;
  expiresAt: string;
}

/** A SIEM destination with its delivery status (docs/AUDIT.md "Streaming to a SIEM"); never its secret. */
export type SiemKind = 'webhook' | 'splunk-hec' | 'jsonl';
export type SiemFormat = 'native' | 'cef' | 'ocsf';
export interface SiemDestination {
  id: string;
  name: string;
  kind: SiemKind;
  format: SiemFormat;
  url: string;
  state: 'active' | 'dead_letter';
  cursorSeq: number;
  headSeq: number;
  pendingEvents: number;
  lagSeconds: number;
  failures: number;
  lastError: string | null;
  lastAttemptAt: string | null;
  lastDeliveredAt: string | null;
  deadLetteredAt: string | null;
  deliveredCount: number;
  secretRotatedAt: string;
  previousSecretExpiresAt?: string | null;
  createdAt: string;
}
export interface SiemDestinationWithSecret {
  destination: SiemDestination;
  /** Webhook / JSON-lines signing secret: in this answer only. */
  secret?: string;
}

/** One page of the server-side operations history (newest first). */
export interface OperationHistoryEntry extends Operation {
  requestedBy: string | null;
  startedAt: string | null;
}
export interface OperationHistoryPage {
  operations: OperationHistoryEntry[];
  next: string | null;
}

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

export interface ServicePrincipalQuery {
  q?: string;
  disabled?: boolean;
  sort?: 'createdAt' | 'name';
  order?: SortOrder;
  limit?: number;
}

export type BulkRequest = { action: 'bind' | 'rekey'; keyConfigurationId: string; workspaceIds: string[] } | { action: 'rewrap'; keyConfigurationId: string };

export interface BulkItem {
  workspaceId: string;
  workspaceName: string | null;
  state: 'pending' | 'running' | 'succeeded' | 'failed';
  operationId: string | null;
  error: { code: string; message: string } | null;
}

export interface BulkOperation {
  id: string;
  kind: 'bulk';
  action: 'bind' | 'rekey' | 'rewrap';
  keyConfigurationId: string;
  state: 'running' | 'succeeded' | 'failed';
  progress: { done: number; total: number };
  counts: { pending: number; running: number; succeeded: number; failed: number };
  items: BulkItem[];
}
