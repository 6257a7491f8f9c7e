/** Response shapes of the public admin API (shared/API.md). Fields the console does not rely on are optional. */

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

export interface KeyConfiguration {
  id: string;
  name: string;
  provider: Provider;
  status: 'valid' | 'invalid' | string;
  validation: { checks: ValidationCheck[] };
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
}

export interface AuditPage {
  events: AuditEvent[];
  next: number | null;
}

export type AuditVerification =
  | { ok: true; count: number; headHash: string }
  | { ok: false; count: number; firstBadSeq?: number; headHash?: string };

/** `GET …/service-principals` item: never the secret (it is shown once, at creation). */
export interface ServicePrincipal {
  id: string;
  name: string;
  clientId: string;
  workspaceIds: string[];
  createdAt: string;
}

export interface CreatedServicePrincipal {
  id: string;
  clientId: string;
  clientSecret: string;
}
