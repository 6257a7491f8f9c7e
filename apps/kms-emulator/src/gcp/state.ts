import { randomBytes } from 'node:crypto';

/** Cloud KMS resource model held by the emulator. Key material is base64 so the whole state is JSON-exportable. */
export type VersionStateName = 'ENABLED' | 'DISABLED' | 'DESTROYED' | 'DESTROY_SCHEDULED';

export interface IamBinding {
  role: string;
  members: string[];
  /** IAM Condition (policy version 3): the binding grants only while its CEL expression holds. */
  condition?: { expression: string; title?: string; description?: string };
}

export interface IamPolicyState {
  version: number;
  bindings: IamBinding[];
  /** Bumped on every SetIamPolicy: the etag GetIamPolicy returns and SetIamPolicy checks. */
  serial: number;
}

export interface VersionRecord {
  number: number;
  state: VersionStateName;
  algorithm: string;
  /** AES-256 key, base64; dropped when the version is destroyed. */
  material: string | null;
  createTime: number;
  destroyTime: number | null;
}

export interface CryptoKeyRecord {
  name: string;
  purpose: string;
  algorithm: string;
  protectionLevel: string;
  primary: number | null;
  nextVersion: number;
  versions: VersionRecord[];
  createTime: number;
  labels: Record<string, string>;
  destroyScheduledSeconds: number;
  policy: IamPolicyState;
}

export interface KeyRingRecord {
  name: string;
  createTime: number;
  policy: IamPolicyState;
}

export interface GcpStateSnapshot {
  keyRings: KeyRingRecord[];
  cryptoKeys: CryptoKeyRecord[];
  disabledServiceAccounts: string[];
  /** Strict service accounts (off by default): only these exist, each with its Token Creator members. */
  serviceAccounts?: { strict: boolean; accounts: Array<{ email: string; tokenCreators: string[] }> };
  /** Project-level IAM policies (inherited by every key ring and key of the project). */
  projectPolicies?: Array<{ project: string; policy: IamPolicyState }>;
}

export const SYMMETRIC_ALGORITHM = 'GOOGLE_SYMMETRIC_ENCRYPTION';

export class GcpState {
  readonly keyRings = new Map<string, KeyRingRecord>();
  readonly cryptoKeys = new Map<string, CryptoKeyRecord>();
  /** Vendor-project service accounts the admin API has disabled (impersonation of them is refused). */
  readonly disabledServiceAccounts = new Set<string>();
  /**
   * Strict mode (admin `POST /gcp/service-accounts/strict`): impersonation needs an account that was created
   * (`POST /gcp/service-accounts`) and a Token Creator binding for the caller on it, as in real IAM. Off by default
   * so the local demo can impersonate any vendor-project email without setup.
   */
  strictServiceAccounts = false;
  readonly serviceAccounts = new Map<string, Set<string>>();
  /** Project id → the project's IAM policy (set through the admin API: Resource Manager is not emulated). */
  readonly projectPolicies = new Map<string, IamPolicyState>();

  reset(): void {
    this.projectPolicies.clear();
    this.keyRings.clear();
    this.cryptoKeys.clear();
    this.disabledServiceAccounts.clear();
    this.strictServiceAccounts = false;
    this.serviceAccounts.clear();
  }

  export(): GcpStateSnapshot {
    return structuredClone({
      keyRings: [...this.keyRings.values()],
      cryptoKeys: [...this.cryptoKeys.values()],
      disabledServiceAccounts: [...this.disabledServiceAccounts],
      serviceAccounts: {
        strict: this.strictServiceAccounts,
        accounts: [...this.serviceAccounts].map(([email, tc]) => ({ email, tokenCreators: [...tc] })),
      },
      projectPolicies: [...this.projectPolicies].map(([project, policy]) => ({ project, policy })),
    });
  }

  import(raw: unknown): void {
    const snap = raw as Partial<GcpStateSnapshot> | null;
    if (!snap || !Array.isArray(snap.keyRings) || !Array.isArray(snap.cryptoKeys)) {
      throw new Error('gcp state must be an object with keyRings[] and cryptoKeys[]');
    }
    this.reset();
    for (const r of structuredClone(snap.keyRings)) this.keyRings.set(r.name, r);
    for (const k of structuredClone(snap.cryptoKeys)) this.cryptoKeys.set(k.name, k);
    for (const sa of snap.disabledServiceAccounts ?? []) this.disabledServiceAccounts.add(sa);
    this.strictServiceAccounts = snap.serviceAccounts?.strict ?? false;
    for (const a of snap.serviceAccounts?.accounts ?? []) this.serviceAccounts.set(a.email, new Set(a.tokenCreators));
    for (const p of structuredClone(snap.projectPolicies ?? [])) this.projectPolicies.set(p.project, p.policy);
  }

  newVersion(key: CryptoKeyRecord, now: number): VersionRecord {
    const v: VersionRecord = {
      number: key.nextVersion++,
      state: 'ENABLED',
      algorithm: key.algorithm,
      material: key.purpose === 'ENCRYPT_DECRYPT' ? randomBytes(32).toString('base64') : null,
      createTime: now,
      destroyTime: null,
    };
    key.versions.push(v);
    return v;
  }
}

export function emptyPolicy(): IamPolicyState {
  return { version: 1, bindings: [], serial: 0 };
}
