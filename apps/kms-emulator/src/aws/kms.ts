import { randomBytes } from 'node:crypto';
import { openBlob, readBlobHeader, sealBlob } from './ciphertext';
import { MalformedPolicyError, parsePolicy } from './policy';
import {
  aliasArn,
  authorizeAccountAction,
  authorizeKeyAction,
  AwsState,
  callerAccount,
  defaultKeyPolicy,
  keyArn,
  KmsAlias,
  KmsKey,
  newBackingKey,
  newKeyId,
  Principal,
} from './state';

/** A modelled KMS error: the SDK picks the exception class by `__type`; AWS answers 400 for these. */
export class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface KmsRequest {
  state: AwsState;
  principal: Principal;
  /** Region from the SigV4 credential scope: the region the client addressed. */
  region: string;
  body: Record<string, unknown>;
  now: number;
}

type Handler = (r: KmsRequest) => Record<string, unknown>;

const KEY_ID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const KEY_ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/;
const ALIAS_ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):(alias\/.+)$/;
const ALIAS_NAME_RE = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

const SYMMETRIC = 'SYMMETRIC_DEFAULT';
const KEY_SPECS = new Set([
  SYMMETRIC,
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
]);

function str(body: Record<string, unknown>, field: string, required: true): string;
function str(body: Record<string, unknown>, field: string, required?: false): string | undefined;
function str(body: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw new KmsError('ValidationException', `1 validation error detected: Value null at '${lower(field)}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string') throw new KmsError('ValidationException', `'${lower(field)}' must be a string`);
  return v;
}

function lower(f: string): string {
  return f.charAt(0).toLowerCase() + f.slice(1);
}

function blob(body: Record<string, unknown>, field: string): Buffer {
  const v = str(body, field, true);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new KmsError('SerializationException', `'${lower(field)}' is not valid base64`);
  return Buffer.from(v, 'base64');
}

function context(body: Record<string, unknown>, field: string): Record<string, string> | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string'))
    throw new KmsError('ValidationException', `'${lower(field)}' must be a map of strings`);
  return v as Record<string, string>;
}

/** Resolves a KeyId as AWS accepts it: key id, key ARN, alias name, alias ARN (alias forms only where allowed). */
export function resolveKey(state: AwsState, keyIdInput: string, account: string, region: string, allowAlias = true): KmsKey {
  const notFound = (): never => {
    throw new KmsError('NotFoundException', `Key '${describeInput(keyIdInput, account, region)}' does not exist`);
  };
  // A regional KMS endpoint only knows its own region's keys: an ARN of another region is not found here.
  let m = KEY_ARN_RE.exec(keyIdInput);
  if (m) return (m[2] === region && state.keys.find((k) => k.arn === keyIdInput)) || notFound();
  m = ALIAS_ARN_RE.exec(keyIdInput);
  if (m) {
    if (m[2] !== region) notFound();
    if (!allowAlias) throw new KmsError('NotFoundException', `Invalid keyId '${keyIdInput}'`);
    const a = state.aliases.find((x) => x.region === m![2] && x.accountId === m![3] && x.name === m![4]);
    return (a && state.keys.find((k) => k.keyId === a.targetKeyId)) ?? notFound();
  }
  if (keyIdInput.startsWith('alias/')) {
    if (!allowAlias) throw new KmsError('NotFoundException', `Invalid keyId '${keyIdInput}'`);
    const a = state.aliases.find((x) => x.region === region && x.accountId === account && x.name === keyIdInput);
    if (!a) throw new KmsError('NotFoundException', `Alias arn:aws:kms:${region}:${account}:${keyIdInput} is not found.`);
    return state.keys.find((k) => k.keyId === a.targetKeyId) ?? notFound();
  }
  if (KEY_ID_RE.test(keyIdInput)) {
    return state.keys.find((k) => k.keyId === keyIdInput && k.accountId === account && k.region === region) ?? notFound();
  }
  throw new KmsError('NotFoundException', `Invalid keyId '${keyIdInput}'`);
}

function describeInput(input: string, account: string, region: string): string {
  return KEY_ID_RE.test(input) ? keyArn(region, account, input) : input;
}

/** Best-effort resolution for fault matching and counters; never throws. */
export function peekKeyArn(state: AwsState, body: Record<string, unknown>, account: string | undefined, region: string): string | undefined {
  const named = (f: string) => (typeof body[f] === 'string' ? (body[f] as string) : undefined);
  // ReEncrypt names no KeyId: its source key (SourceKeyId, else the ciphertext's key), else its destination.
  const id = named('KeyId') ?? named('TargetKeyId') ?? named('SourceKeyId');
  try {
    if (id) return resolveKey(state, id, account ?? '', region).arn;
    if (typeof body.CiphertextBlob === 'string') {
      const h = readBlobHeader(Buffer.from(body.CiphertextBlob, 'base64'));
      const arn = h ? state.keys.find((k) => k.keyId === h.keyId)?.arn : undefined;
      if (arn) return arn;
    }
    const dest = named('DestinationKeyId');
    if (dest) return resolveKey(state, dest, account ?? '', region).arn;
  } catch {
    return undefined;
  }
  return undefined;
}

function authorize(r: KmsRequest, key: KmsKey, action: string): void {
  const d = authorizeKeyAction(r.state, r.principal, key, action);
  if (!d.allowed) throw new KmsError('AccessDeniedException', d.reason);
}

function authorizeAccount(r: KmsRequest, action: string, resource: string): void {
  const d = authorizeAccountAction(r.state, r.principal, action, resource);
  if (!d.allowed) throw new KmsError('AccessDeniedException', d.reason);
}

/** Cryptographic operations need an Enabled key (KMS Developer Guide, "Key states"). */
function requireUsable(key: KmsKey): void {
  if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
  if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
}

function requireSymmetricEncrypt(key: KmsKey, algorithm: string | undefined): void {
  if (key.keyUsage !== 'ENCRYPT_DECRYPT' || key.keySpec !== SYMMETRIC)
    throw new KmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for this operation.`);
  if (algorithm !== undefined && algorithm !== SYMMETRIC)
    throw new KmsError('InvalidKeyUsageException', `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`);
}

function material(key: KmsKey, id: string): Buffer | undefined {
  const b = key.backing.find((x) => x.id === id);
  return b ? Buffer.from(b.material, 'base64') : undefined;
}

function current(key: KmsKey) {
  return key.backing[key.backing.length - 1];
}

function encryptUnder(key: KmsKey, plaintext: Buffer, ctx: Record<string, string> | undefined): Buffer {
  const cur = current(key);
  return sealBlob({ keyId: key.keyId, keyMaterialId: cur.id }, Buffer.from(cur.material, 'base64'), plaintext, ctx);
}

/** Opens a blob: InvalidCiphertextException for anything that is not a blob this key can authenticate. */
function decryptBlob(r: KmsRequest, blobBuf: Buffer, ctx: Record<string, string> | undefined, keyIdParam: string | undefined, action: string) {
  const h = readBlobHeader(blobBuf);
  if (!h) throw new KmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
  const key = r.state.keys.find((k) => k.keyId === h.keyId && k.region === r.region);
  if (!key) throw new KmsError('InvalidCiphertextException', 'The ciphertext refers to a key that does not exist.');
  if (keyIdParam !== undefined) {
    const named = resolveKey(r.state, keyIdParam, callerAccount(r.principal), r.region);
    if (named.keyId !== key.keyId)
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify a key that can decrypt the ciphertext.');
  }
  authorize(r, key, action);
  requireUsable(key);
  const mat = material(key, h.keyMaterialId);
  const pt = mat ? openBlob(blobBuf, h.headerLength, mat, ctx) : null;
  if (!pt) throw new KmsError('InvalidCiphertextException', 'The ciphertext or encryption context is invalid.');
  return { key, plaintext: pt, keyMaterialId: h.keyMaterialId };
}

export function keyMetadata(key: KmsKey): Record<string, unknown> {
  const symmetric = key.keySpec === SYMMETRIC;
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate,
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.deletionDate !== undefined ? { DeletionDate: key.deletionDate } : {}),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...(key.keyUsage === 'ENCRYPT_DECRYPT'
      ? { EncryptionAlgorithms: symmetric ? [SYMMETRIC] : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] }
      : {}),
    ...(key.keyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256'] } : {}),
    MultiRegion: false,
    ...(symmetric ? { CurrentKeyMaterialId: current(key).id } : {}),
  };
}

const USAGES = new Set(['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT']);

function validatePolicy(text: string): void {
  try {
    parsePolicy(text, { requirePrincipal: true });
  } catch (err) {
    if (err instanceof MalformedPolicyError) throw new KmsError('MalformedPolicyDocumentException', err.message);
    throw err;
  }
}

function plaintextSize(pt: Buffer): void {
  if (pt.length < 1 || pt.length > 4096)
    throw new KmsError('ValidationException', "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096");
}

const handlers: Record<string, Handler> = {
  CreateKey(r) {
    const account = callerAccount(r.principal);
    authorizeAccount(r, 'kms:CreateKey', '*');
    const keyUsage = str(r.body, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
    const keySpec = str(r.body, 'KeySpec') ?? str(r.body, 'CustomerMasterKeySpec') ?? SYMMETRIC;
    if (!USAGES.has(keyUsage)) throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not valid`);
    if (!KEY_SPECS.has(keySpec)) throw new KmsError('ValidationException', `KeySpec ${keySpec} is not valid`);
    if (keySpec === SYMMETRIC && keyUsage !== 'ENCRYPT_DECRYPT')
      throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
    const policy = str(r.body, 'Policy') ?? defaultKeyPolicy(account);
    validatePolicy(policy);
    const keyId = newKeyId();
    const key: KmsKey = {
      keyId,
      accountId: account,
      region: r.region,
      arn: keyArn(r.region, account, keyId),
      description: str(r.body, 'Description') ?? '',
      keyUsage: keyUsage as KmsKey['keyUsage'],
      keySpec,
      state: 'Enabled',
      creationDate: r.now / 1000,
      policy,
      rotationEnabled: false,
      backing: [newBackingKey(r.now)],
      rotations: [],
    };
    r.state.keys.push(key);
    return { KeyMetadata: keyMetadata(key) };
  },

  DescribeKey(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region);
    authorize(r, key, 'kms:DescribeKey');
    return { KeyMetadata: keyMetadata(key) };
  },

  Encrypt(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region);
    const pt = blob(r.body, 'Plaintext');
    plaintextSize(pt);
    authorize(r, key, 'kms:Encrypt');
    requireUsable(key);
    requireSymmetricEncrypt(key, str(r.body, 'EncryptionAlgorithm'));
    const ct = encryptUnder(key, pt, context(r.body, 'EncryptionContext'));
    return { CiphertextBlob: ct.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: SYMMETRIC };
  },

  Decrypt(r) {
    const { key, plaintext, keyMaterialId } = decryptBlob(
      r,
      blob(r.body, 'CiphertextBlob'),
      context(r.body, 'EncryptionContext'),
      str(r.body, 'KeyId'),
      'kms:Decrypt',
    );
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: SYMMETRIC, KeyMaterialId: keyMaterialId };
  },

  GenerateDataKey(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region);
    const spec = str(r.body, 'KeySpec');
    const nb = r.body.NumberOfBytes;
    let size: number;
    if (spec !== undefined && nb !== undefined) throw new KmsError('ValidationException', 'Specify either KeySpec or NumberOfBytes, not both.');
    if (spec === 'AES_256') size = 32;
    else if (spec === 'AES_128') size = 16;
    else if (spec !== undefined) throw new KmsError('ValidationException', `KeySpec ${spec} is not valid`);
    else if (typeof nb === 'number' && Number.isInteger(nb) && nb >= 1 && nb <= 1024) size = nb;
    else throw new KmsError('ValidationException', 'Please specify either number of bytes or key spec.');
    authorize(r, key, 'kms:GenerateDataKey');
    requireUsable(key);
    requireSymmetricEncrypt(key, undefined);
    const pt = randomBytes(size);
    const ct = encryptUnder(key, pt, context(r.body, 'EncryptionContext'));
    return { CiphertextBlob: ct.toString('base64'), Plaintext: pt.toString('base64'), KeyId: key.arn, KeyMaterialId: current(key).id };
  },

  ReEncrypt(r) {
    const dest = resolveKey(r.state, str(r.body, 'DestinationKeyId', true), callerAccount(r.principal), r.region);
    const src = decryptBlob(r, blob(r.body, 'CiphertextBlob'), context(r.body, 'SourceEncryptionContext'), str(r.body, 'SourceKeyId'), 'kms:ReEncryptFrom');
    try {
      authorize(r, dest, 'kms:ReEncryptTo');
      requireUsable(dest);
      requireSymmetricEncrypt(dest, undefined);
      const ct = encryptUnder(dest, src.plaintext, context(r.body, 'DestinationEncryptionContext'));
      return {
        CiphertextBlob: ct.toString('base64'),
        SourceKeyId: src.key.arn,
        KeyId: dest.arn,
        SourceEncryptionAlgorithm: SYMMETRIC,
        DestinationEncryptionAlgorithm: SYMMETRIC,
        SourceKeyMaterialId: src.keyMaterialId,
        DestinationKeyMaterialId: current(dest).id,
      };
    } finally {
      src.plaintext.fill(0);
    }
  },

  EnableKey(r) {
    const key = mutable(r, 'kms:EnableKey', false);
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    key.state = 'Enabled';
    return {};
  },

  DisableKey(r) {
    const key = mutable(r, 'kms:DisableKey', false);
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    key.state = 'Disabled';
    return {};
  },

  ScheduleKeyDeletion(r) {
    const key = mutable(r, 'kms:ScheduleKeyDeletion', false);
    const days = r.body.PendingWindowInDays ?? 30;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30)
      throw new KmsError('ValidationException', "1 validation error detected: Value at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30");
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    key.state = 'PendingDeletion';
    key.pendingWindowInDays = days;
    key.deletionDate = Math.floor(r.now / 1000) + days * 86400;
    return { KeyId: key.arn, DeletionDate: key.deletionDate, KeyState: key.state, PendingWindowInDays: days };
  },

  CancelKeyDeletion(r) {
    const key = mutable(r, 'kms:CancelKeyDeletion', false);
    if (key.state !== 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
    // As in AWS, a key whose deletion is cancelled comes back Disabled.
    key.state = 'Disabled';
    delete key.deletionDate;
    delete key.pendingWindowInDays;
    return { KeyId: key.arn };
  },

  EnableKeyRotation(r) {
    const key = mutable(r, 'kms:EnableKeyRotation', true);
    const period = r.body.RotationPeriodInDays ?? 365;
    if (typeof period !== 'number' || period < 90 || period > 2560)
      throw new KmsError('ValidationException', 'RotationPeriodInDays must be between 90 and 2560');
    key.rotationEnabled = true;
    key.rotationPeriodInDays = period;
    return {};
  },

  DisableKeyRotation(r) {
    const key = mutable(r, 'kms:DisableKeyRotation', true);
    key.rotationEnabled = false;
    return {};
  },

  GetKeyRotationStatus(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:GetKeyRotationStatus');
    return { KeyId: key.arn, KeyRotationEnabled: key.rotationEnabled, ...(key.rotationEnabled ? { RotationPeriodInDays: key.rotationPeriodInDays } : {}) };
  },

  RotateKeyOnDemand(r) {
    const key = mutable(r, 'kms:RotateKeyOnDemand', true);
    const b = newBackingKey(r.now);
    key.backing.push(b);
    key.rotations.push({ keyMaterialId: b.id, rotationDate: r.now / 1000, rotationType: 'ON_DEMAND' });
    return { KeyId: key.arn };
  },

  ListKeyRotations(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:ListKeyRotations');
    const cur = current(key).id;
    return {
      Rotations: key.rotations.map((x) => ({
        KeyId: key.arn,
        KeyMaterialId: x.keyMaterialId,
        KeyMaterialState: x.keyMaterialId === cur ? 'CURRENT' : 'NON_CURRENT',
        RotationDate: x.rotationDate,
        RotationType: x.rotationType,
      })),
      Truncated: false,
    };
  },

  PutKeyPolicy(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:PutKeyPolicy');
    const name = str(r.body, 'PolicyName') ?? 'default';
    if (name !== 'default') throw new KmsError('NotFoundException', `Policy ${name} does not exist`);
    const policy = str(r.body, 'Policy', true);
    validatePolicy(policy);
    key.policy = policy;
    return {};
  },

  GetKeyPolicy(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:GetKeyPolicy');
    const name = str(r.body, 'PolicyName') ?? 'default';
    if (name !== 'default') throw new KmsError('NotFoundException', `Policy ${name} does not exist`);
    return { Policy: key.policy, PolicyName: 'default' };
  },

  CreateAlias(r) {
    const name = aliasName(r);
    const account = callerAccount(r.principal);
    const key = resolveKey(r.state, str(r.body, 'TargetKeyId', true), account, r.region, false);
    authorize(r, key, 'kms:CreateAlias');
    authorizeAccount(r, 'kms:CreateAlias', `arn:aws:kms:${r.region}:${account}:${name}`);
    if (r.state.aliases.some((a) => a.accountId === account && a.region === r.region && a.name === name))
      throw new KmsError('AlreadyExistsException', `An alias with the name arn:aws:kms:${r.region}:${account}:${name} already exists`);
    const t = r.now / 1000;
    r.state.aliases.push({ name, accountId: account, region: r.region, targetKeyId: key.keyId, creationDate: t, lastUpdatedDate: t });
    return {};
  },

  UpdateAlias(r) {
    const name = aliasName(r);
    const account = callerAccount(r.principal);
    const alias = findAlias(r, name, 'kms:UpdateAlias');
    const key = resolveKey(r.state, str(r.body, 'TargetKeyId', true), account, r.region, false);
    authorize(r, key, 'kms:UpdateAlias');
    alias.targetKeyId = key.keyId;
    alias.lastUpdatedDate = r.now / 1000;
    return {};
  },

  DeleteAlias(r) {
    const name = aliasName(r);
    const alias = findAlias(r, name, 'kms:DeleteAlias');
    r.state.aliases = r.state.aliases.filter((a) => a !== alias);
    return {};
  },

  ListAliases(r) {
    const account = callerAccount(r.principal);
    authorizeAccount(r, 'kms:ListAliases', '*');
    const keyFilter = str(r.body, 'KeyId');
    const target = keyFilter ? resolveKey(r.state, keyFilter, account, r.region, false) : undefined;
    const aliases = r.state.aliases.filter(
      (a) => a.accountId === account && a.region === r.region && (!target || a.targetKeyId === target.keyId),
    );
    return {
      Aliases: aliases.map((a) => ({
        AliasName: a.name,
        AliasArn: aliasArn(a),
        TargetKeyId: a.targetKeyId,
        CreationDate: a.creationDate,
        LastUpdatedDate: a.lastUpdatedDate,
      })),
      Truncated: false,
    };
  },

  ListKeys(r) {
    const account = callerAccount(r.principal);
    authorizeAccount(r, 'kms:ListKeys', '*');
    return {
      Keys: r.state.keys.filter((k) => k.accountId === account && k.region === r.region).map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })),
      Truncated: false,
    };
  },
};

function aliasName(r: KmsRequest): string {
  const name = str(r.body, 'AliasName', true);
  if (!ALIAS_NAME_RE.test(name)) throw new KmsError('ValidationException', `Alias name ${name} is not valid: it must match alias/[a-zA-Z0-9/_-]+`);
  if (name.startsWith('alias/aws/')) throw new KmsError('ValidationException', 'Alias names beginning with alias/aws/ are reserved for AWS managed keys.');
  return name;
}

function findAlias(r: KmsRequest, name: string, action: string): KmsAlias {
  const account = callerAccount(r.principal);
  const a = r.state.aliases.find((x) => x.accountId === account && x.region === r.region && x.name === name);
  if (!a) throw new KmsError('NotFoundException', `Alias arn:aws:kms:${r.region}:${account}:${name} is not found.`);
  const key = r.state.keys.find((k) => k.keyId === a.targetKeyId);
  if (key) authorize(r, key, action);
  return a;
}

/** Management operations take a key id or key ARN (aliases only where AWS accepts them). */
function mutable(r: KmsRequest, action: string, requireSymmetric: boolean): KmsKey {
  const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
  authorize(r, key, action);
  if (requireSymmetric && key.keySpec !== SYMMETRIC)
    throw new KmsError('UnsupportedOperationException', `${key.arn} key spec ${key.keySpec} does not support automatic or on-demand rotation.`);
  if (requireSymmetric && key.state !== 'Enabled')
    throw new KmsError(key.state === 'Disabled' ? 'DisabledException' : 'KMSInvalidStateException', `${key.arn} is ${key.state === 'Disabled' ? 'disabled' : 'pending deletion'}.`);
  return key;
}

/** Operations that change state (the host persists after them). */
export const KMS_MUTATIONS = new Set([
  'CreateKey',
  'EnableKey',
  'DisableKey',
  'ScheduleKeyDeletion',
  'CancelKeyDeletion',
  'EnableKeyRotation',
  'DisableKeyRotation',
  'RotateKeyOnDemand',
  'PutKeyPolicy',
  'CreateAlias',
  'UpdateAlias',
  'DeleteAlias',
]);

export function isKmsOperation(op: string): boolean {
  return Object.prototype.hasOwnProperty.call(handlers, op);
}

export function handleKms(op: string, r: KmsRequest): Record<string, unknown> {
  const h = handlers[op];
  if (!h) throw new KmsError('UnknownOperationException', `Operation ${op} is not supported by this emulator`);
  return h(r);
}
