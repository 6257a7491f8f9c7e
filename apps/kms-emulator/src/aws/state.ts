import { randomBytes, randomUUID } from 'node:crypto';
import { CallerIdentity, ConditionContext, defaultKeyPolicy, evaluate, parsePolicy, PolicyDocument } from './policy';

/** Everything the AWS emulator keeps. Plain JSON so it can be exported, persisted and imported as is. */

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport';

export interface BackingKey {
  /** KMS KeyMaterialId: 64 hex characters. */
  id: string;
  /** AES-256 key, base64 (emulator state only: this is a test double of an HSM). */
  material: string;
  createdAt: number;
}

export interface RotationRecord {
  keyMaterialId: string;
  rotationDate: number;
  rotationType: 'ON_DEMAND' | 'AUTOMATIC';
}

export interface KmsKey {
  keyId: string;
  accountId: string;
  region: string;
  arn: string;
  description: string;
  keyUsage: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT';
  keySpec: string;
  state: KeyState;
  creationDate: number;
  deletionDate?: number;
  pendingWindowInDays?: number;
  policy: string;
  rotationEnabled: boolean;
  rotationPeriodInDays?: number;
  /** Backing keys, oldest first; the last one is current. Old ones are kept so old ciphertexts decrypt. */
  backing: BackingKey[];
  rotations: RotationRecord[];
  /** `EXTERNAL`: key material imported by the customer (absent = AWS_KMS). */
  origin?: 'AWS_KMS' | 'EXTERNAL';
  imported?: ImportedMaterial;
  /** Multi-Region keys: the primary names its replicas' regions; a replica names its primary. */
  multiRegion?: { type: 'PRIMARY' | 'REPLICA'; primaryArn: string; replicaRegions: string[] };
}

/** What KMS keeps about imported key material (KMS Developer Guide, "Importing key material"). */
export interface ImportedMaterial {
  /** SHA-256 of the first material imported: a key only ever accepts that same material again. */
  digest: string;
  expirationModel?: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
  /** Epoch seconds after which the material is deleted and the key returns to PendingImport. */
  validTo?: number;
  /** The open GetParametersForImport answer: its token and wrapping private key (PEM), valid 24 hours. */
  pending?: { token: string; privateKeyPem: string; algorithm: string; validTo: number };
}

/** A KMS grant (KMS Developer Guide, "Grants in AWS KMS"). */
export interface KmsGrant {
  grantId: string;
  grantToken: string;
  keyArn: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  issuingAccount: string;
  operations: string[];
  constraints?: { EncryptionContextEquals?: Record<string, string>; EncryptionContextSubset?: Record<string, string> };
  creationDate: number;
}

export interface KmsAlias {
  name: string;
  accountId: string;
  region: string;
  targetKeyId: string;
  creationDate: number;
  lastUpdatedDate: number;
}

export interface IamRole {
  name: string;
  path: string;
  arn: string;
  roleId: string;
  accountId: string;
  trustPolicy: string;
  inlinePolicies: Record<string, string>;
  createDate: number;
  maxSessionDuration: number;
}

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  arn: string;
  accountId: string;
  userId: string;
  isRoot: boolean;
  /**
   * IAM UpdateAccessKey's Active/Inactive; `Expired` stands for credentials whose lifetime ended (temporary
   * credentials of a federated or instance identity). Absent = Active.
   */
  status?: AccessKeyStatus;
}

export type AccessKeyStatus = 'Active' | 'Inactive' | 'Expired';

export interface RoleSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleArn: string;
  roleId: string;
  sessionArn: string;
  accountId: string;
  /** Session policy (JSON) narrowing the session, if one was passed to AssumeRole. */
  policy?: string;
  expiresAt: number;
}

export interface AwsState {
  keys: KmsKey[];
  aliases: KmsAlias[];
  roles: IamRole[];
  accessKeys: AccessKey[];
  sessions: RoleSession[];
  /**
   * Identity-based policies attached to a static principal (IAM user or account root), by principal ARN then policy
   * name. The emulator otherwise lets those principals do anything their own account allows; these add what a
   * vendor's security team does to its own user (a Deny on sts:AssumeRole, kms:*, …).
   */
  principalPolicies?: Record<string, Record<string, string>>;
  /** Service control policies by account id then name: guardrails on every principal of the account. */
  scps?: Record<string, Record<string, string>>;
  grants?: KmsGrant[];
  /** ARNs of keys whose deletion completed: their ciphertexts now answer NotFoundException. */
  deletedKeys?: string[];
}

/** The authenticated caller of one request. */
export type Principal = { kind: 'key'; key: AccessKey } | { kind: 'session'; session: RoleSession };

export function callerArn(p: Principal): string {
  return p.kind === 'key' ? p.key.arn : p.session.sessionArn;
}

export function callerAccount(p: Principal): string {
  return p.kind === 'key' ? p.key.accountId : p.session.accountId;
}

export function identityOf(p: Principal): CallerIdentity {
  return p.kind === 'key'
    ? { arn: p.key.arn, accountId: p.key.accountId, isRoot: p.key.isRoot }
    : { arn: p.session.sessionArn, accountId: p.session.accountId, roleArn: p.session.roleArn, isRoot: false };
}

export function newKeyMaterialId(): string {
  return randomBytes(32).toString('hex');
}

export function newBackingKey(now: number): BackingKey {
  return { id: newKeyMaterialId(), material: randomBytes(32).toString('base64'), createdAt: now };
}

export function newKeyId(): string {
  return randomUUID();
}

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

export function aliasArn(a: KmsAlias): string {
  return `arn:aws:kms:${a.region}:${a.accountId}:${a.name}`;
}

export { defaultKeyPolicy };

export type Decision = { allowed: true } | { allowed: false; reason: string };

/** What a KMS request brings to authorization beyond the caller: its encryption context, source address, grant tokens. */
export interface KeyRequestContext {
  encryptionContext?: Record<string, string>;
  sourceIp?: string;
  /** Extra condition keys of the operation (kms:GranteePrincipal, kms:GrantOperations, …). */
  extra?: ConditionContext;
}

/** Operations whose requests carry an encryption context (grant constraints apply only to these). */
const EC_OPERATIONS = new Set([
  'Encrypt',
  'Decrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
]);

/**
 * The request context KMS evaluates conditions against (KMS Developer Guide, "Condition keys for AWS KMS"; IAM
 * "Global condition context keys"): the caller, the account, the source address, TLS (KMS endpoints answer only
 * over TLS, so aws:SecureTransport is always true), and for cryptographic operations one
 * `kms:EncryptionContext:<key>` per pair plus the multivalued `kms:EncryptionContextKeys`. `kms:ViaService` is
 * present only when an AWS service calls KMS on the caller's behalf; every caller of this emulator calls directly,
 * so the key is absent, as it is for Keyhold's own calls.
 */
export function requestConditionContext(
  caller: CallerIdentity,
  req: KeyRequestContext = {},
  now = Date.now(),
): ConditionContext {
  const ctx: ConditionContext = {
    'aws:PrincipalArn': caller.roleArn ?? caller.arn,
    'aws:PrincipalAccount': caller.accountId,
    'aws:SecureTransport': 'true',
    'aws:CurrentTime': new Date(now).toISOString(),
    'aws:EpochTime': String(Math.floor(now / 1000)),
    'kms:CallerAccount': caller.accountId,
    ...(req.sourceIp
      ? { 'aws:SourceIp': req.sourceIp.startsWith('::ffff:') ? req.sourceIp.slice(7) : req.sourceIp }
      : {}),
    ...(req.extra ?? {}),
  };
  const ec = req.encryptionContext;
  if (ec && Object.keys(ec).length > 0) {
    for (const [k, v] of Object.entries(ec)) ctx[`kms:EncryptionContext:${k}`] = v;
    ctx['kms:EncryptionContextKeys'] = Object.keys(ec);
  }
  return ctx;
}

/**
 * Authorization of a KMS action on a key, as AWS decides it (KMS Developer Guide, "Key policies", "Grants" and
 * "Determining access"; IAM "Policy evaluation logic"):
 *  1. An explicit Deny in an SCP, the key policy, an identity policy of the role, or the session policy → denied.
 *  2. A session policy, when present, must itself Allow the action on the key (sessions are the
 *     intersection of the role's permissions and the session policy).
 *  3. Same account: allowed if the key policy names the caller directly (user ARN, role ARN, session ARN,
 *     "*", or the account root for the root user), or if the key policy allows the account root ("enable IAM
 *     policies") AND an identity policy of the caller allows the action. The account root user has implicit
 *     identity permission; IAM users other than roles carry no modelled identity policy and count as allowed
 *     within their own account (only roles' inline policies are modelled).
 *  4. Cross account: the key policy must allow the caller (directly or via its account) AND the caller's
 *     identity policies must allow it.
 *  5. Otherwise a grant on the key whose grantee is the caller (its session's role, or its own ARN), listing the
 *     operation, and whose constraints the request's encryption context satisfies, allows it.
 * A session whose role was deleted is denied: its identity no longer exists.
 */
export function authorizeKeyAction(
  state: AwsState,
  p: Principal,
  key: KmsKey,
  action: string,
  req: KeyRequestContext = {},
): Decision {
  const caller = identityOf(p);
  const context = requestConditionContext(caller, req);
  const deny = (why: string): Decision => ({
    allowed: false,
    reason: `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${key.arn} ${why}`,
  });
  let keyPolicy: PolicyDocument | undefined;
  try {
    keyPolicy = parsePolicy(key.policy, { requirePrincipal: true });
  } catch {
    keyPolicy = undefined;
  }
  const guard = guardDeny(state, p, action, key.arn, context);
  if (guard) return deny(`with an explicit deny in ${guard}`);
  const kp = evaluate(keyPolicy, { action, resource: key.arn, caller, context });
  if (kp === 'deny') return deny('with an explicit deny in a resource-based policy');

  const id = identityDecision(state, p, action, key.arn, context);
  if (id === 'deny') return deny('with an explicit deny in an identity-based policy');
  if (id === 'gone') return deny('because the role no longer exists');

  if (p.kind === 'session' && p.session.policy) {
    const sp = evaluate(safeParse(p.session.policy), { action, resource: key.arn, context });
    if (sp === 'deny') return deny('with an explicit deny in a session policy');
    if (sp !== 'allow') return deny('because no session policy allows the ' + action + ' action');
  }

  const sameAccount = caller.accountId === key.accountId;
  if (sameAccount) {
    if (kp === 'allow') return { allowed: true };
    if (kp === 'account' && id === 'allow') return { allowed: true };
  } else if (kp !== 'none' && id === 'allow') return { allowed: true };
  if (grantAllows(state, caller, key, action, req.encryptionContext)) return { allowed: true };
  if (kp === 'none') return deny('because no resource-based policy allows the ' + action + ' action');
  return deny('because no identity-based policy allows the ' + action + ' action');
}

/** Grants on the key that name this caller as grantee (a role ARN covers every session of that role). */
export function grantsFor(state: AwsState, caller: CallerIdentity, key: KmsKey): KmsGrant[] {
  return (state.grants ?? []).filter(
    (g) =>
      g.keyArn === key.arn &&
      (g.granteePrincipal === caller.arn ||
        (caller.roleArn !== undefined && g.granteePrincipal === caller.roleArn) ||
        (caller.isRoot && g.granteePrincipal === `arn:aws:iam::${caller.accountId}:root`)),
  );
}

function grantAllows(
  state: AwsState,
  caller: CallerIdentity,
  key: KmsKey,
  action: string,
  ec: Record<string, string> | undefined,
): boolean {
  const op = action.replace(/^kms:/i, '');
  return grantsFor(state, caller, key).some(
    (g) => g.operations.includes(op) && (!EC_OPERATIONS.has(op) || constraintsHold(g, ec)),
  );
}

/** Grant constraints: keys compared case-insensitively, values exactly (KMS API Reference, "GrantConstraints"). */
export function constraintsHold(g: KmsGrant, ec: Record<string, string> | undefined): boolean {
  const c = g.constraints;
  if (!c) return true;
  const req = new Map(Object.entries(ec ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const subset = (want: Record<string, string>) =>
    Object.entries(want).every(([k, v]) => req.get(k.toLowerCase()) === v);
  if (
    c.EncryptionContextEquals &&
    !(subset(c.EncryptionContextEquals) && req.size === Object.keys(c.EncryptionContextEquals).length)
  )
    return false;
  if (c.EncryptionContextSubset && !subset(c.EncryptionContextSubset)) return false;
  return true;
}

/** Account-level actions (CreateKey, ListAliases, alias management): identity and session policies decide. */
export function authorizeAccountAction(state: AwsState, p: Principal, action: string, resource: string): Decision {
  const caller = identityOf(p);
  const guard = guardDeny(state, p, action, resource);
  if (guard)
    return {
      allowed: false,
      reason: `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource} with an explicit deny in ${guard}`,
    };
  const id = identityDecision(state, p, action, resource);
  let ok = id === 'allow';
  if (ok && p.kind === 'session' && p.session.policy) {
    ok = evaluate(safeParse(p.session.policy), { action, resource }) === 'allow';
  }
  return ok
    ? { allowed: true }
    : {
        allowed: false,
        reason: `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource}`,
      };
}

/**
 * Explicit Denies that sit above every other policy (IAM "Policy evaluation logic": an explicit deny in any
 * applicable policy wins): the caller account's service control policies, then the static principal's own
 * identity policies. Returns the policy type named in AWS's error message, or null.
 */
export function guardDeny(
  state: AwsState,
  p: Principal,
  action: string,
  resource: string,
  context: ConditionContext = requestConditionContext(identityOf(p)),
): 'a service control policy' | 'an identity-based policy' | null {
  const account = p.kind === 'key' ? p.key.accountId : p.session.accountId;
  for (const text of Object.values(state.scps?.[account] ?? {}))
    if (evaluate(safeParse(text), { action, resource, context }) === 'deny') return 'a service control policy';
  if (p.kind === 'key')
    for (const text of Object.values(state.principalPolicies?.[p.key.arn] ?? {}))
      if (evaluate(safeParse(text), { action, resource, context }) === 'deny') return 'an identity-based policy';
  return null;
}

function identityDecision(
  state: AwsState,
  p: Principal,
  action: string,
  resource: string,
  context?: ConditionContext,
): 'allow' | 'deny' | 'none' | 'gone' {
  if (p.kind === 'key') return 'allow';
  const role = state.roles.find((r) => r.arn === p.session.roleArn && r.roleId === p.session.roleId);
  if (!role) return 'gone';
  let result: 'allow' | 'none' = 'none';
  for (const text of Object.values(role.inlinePolicies)) {
    const d = evaluate(safeParse(text), { action, resource, context });
    if (d === 'deny') return 'deny';
    if (d === 'allow') result = 'allow';
  }
  return result;
}

function safeParse(text: string): PolicyDocument | undefined {
  try {
    return parsePolicy(text, { requirePrincipal: false });
  } catch {
    return undefined;
  }
}
