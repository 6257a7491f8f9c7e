import {
  constants as cryptoConstants,
  createHash,
  generateKeyPairSync,
  privateDecrypt,
  randomBytes,
} from 'node:crypto';
import { openBlob, readBlobHeader, sealBlob } from './ciphertext';
import { MalformedPolicyError, parsePolicy } from './policy';
import {
  aliasArn,
  authorizeAccountAction,
  authorizeKeyAction,
  AwsState,
  callerAccount,
  defaultKeyPolicy,
  identityOf,
  KmsGrant,
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
  /** The client's address, for aws:SourceIp conditions. */
  sourceIp?: string;
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
    if (required)
      throw new KmsError(
        'ValidationException',
        `1 validation error detected: Value null at '${lower(field)}' failed to satisfy constraint: Member must not be null`,
      );
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
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v))
    throw new KmsError('SerializationException', `'${lower(field)}' is not valid base64`);
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
export function resolveKey(
  state: AwsState,
  keyIdInput: string,
  account: string,
  region: string,
  allowAlias = true,
): KmsKey {
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
    const a = state.aliases.find((x) => x.region === m[2] && x.accountId === m[3] && x.name === m[4]);
    return (a && state.keys.find((k) => k.keyId === a.targetKeyId && k.region === a.region)) ?? notFound();
  }
  if (keyIdInput.startsWith('alias/')) {
    if (!allowAlias) throw new KmsError('NotFoundException', `Invalid keyId '${keyIdInput}'`);
    const a = state.aliases.find((x) => x.region === region && x.accountId === account && x.name === keyIdInput);
    if (!a)
      throw new KmsError('NotFoundException', `Alias arn:aws:kms:${region}:${account}:${keyIdInput} is not found.`);
    return state.keys.find((k) => k.keyId === a.targetKeyId && k.region === a.region) ?? notFound();
  }
  if (KEY_ID_RE.test(keyIdInput)) {
    return (
      state.keys.find((k) => k.keyId === keyIdInput && k.accountId === account && k.region === region) ?? notFound()
    );
  }
  throw new KmsError('NotFoundException', `Invalid keyId '${keyIdInput}'`);
}

function describeInput(input: string, account: string, region: string): string {
  return KEY_ID_RE.test(input) ? keyArn(region, account, input) : input;
}

/** Best-effort resolution for fault matching and counters; never throws. */
export function peekKeyArn(
  state: AwsState,
  body: Record<string, unknown>,
  account: string | undefined,
  region: string,
): string | undefined {
  const named = (f: string) => (typeof body[f] === 'string' ? body[f] : undefined);
  // ReEncrypt names no KeyId: its source key (SourceKeyId, else the ciphertext's key), else its destination.
  const id = named('KeyId') ?? named('TargetKeyId') ?? named('SourceKeyId');
  try {
    if (id) return resolveKey(state, id, account ?? '', region).arn;
    if (typeof body.CiphertextBlob === 'string') {
      const h = readBlobHeader(Buffer.from(body.CiphertextBlob, 'base64'));
      const arn = h ? state.keys.find((k) => k.keyId === h.keyId && k.region === region)?.arn : undefined;
      if (arn) return arn;
    }
    const dest = named('DestinationKeyId');
    if (dest) return resolveKey(state, dest, account ?? '', region).arn;
  } catch {
    return undefined;
  }
  return undefined;
}

function authorize(
  r: KmsRequest,
  key: KmsKey,
  action: string,
  encryptionContext?: Record<string, string>,
  extra?: Record<string, string | string[]>,
): void {
  const d = authorizeKeyAction(r.state, r.principal, key, action, { encryptionContext, sourceIp: r.sourceIp, extra });
  if (!d.allowed) throw new KmsError('AccessDeniedException', d.reason);
}

function authorizeAccount(r: KmsRequest, action: string, resource: string): void {
  const d = authorizeAccountAction(r.state, r.principal, action, resource);
  if (!d.allowed) throw new KmsError('AccessDeniedException', d.reason);
}

/** Cryptographic operations need an Enabled key (KMS Developer Guide, "Key states"). */
function requireUsable(key: KmsKey): void {
  if (key.state === 'Disabled') throw new KmsError('DisabledException', `${key.arn} is disabled.`);
  if (key.state === 'PendingDeletion')
    throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  // Imported material expired or deleted: the key stays, unusable until the same material is imported again.
  if (key.state === 'PendingImport') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending import.`);
}

function requireSymmetricEncrypt(key: KmsKey, algorithm: string | undefined): void {
  if (key.keyUsage !== 'ENCRYPT_DECRYPT' || key.keySpec !== SYMMETRIC)
    throw new KmsError(
      'InvalidKeyUsageException',
      `${key.arn} key usage is ${key.keyUsage} which is not valid for this operation.`,
    );
  if (algorithm !== undefined && algorithm !== SYMMETRIC)
    throw new KmsError(
      'InvalidKeyUsageException',
      `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
    );
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
function decryptBlob(
  r: KmsRequest,
  blobBuf: Buffer,
  ctx: Record<string, string> | undefined,
  keyIdParam: string | undefined,
  action: string,
) {
  const h = readBlobHeader(blobBuf);
  if (!h) throw new KmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
  const key = r.state.keys.find((k) => k.keyId === h.keyId && k.region === r.region);
  if (!key) {
    // A key whose deletion completed is gone: KMS answers NotFound for it, whether named or read from the blob.
    if (keyIdParam !== undefined) resolveKey(r.state, keyIdParam, callerAccount(r.principal), r.region);
    const deleted = (r.state.deletedKeys ?? []).find(
      (arn) => arn.endsWith(`:key/${h.keyId}`) && arn.split(':')[3] === r.region,
    );
    if (deleted) throw new KmsError('NotFoundException', `Key '${deleted}' does not exist`);
    throw new KmsError('InvalidCiphertextException', 'The ciphertext refers to a key that does not exist.');
  }
  if (keyIdParam !== undefined) {
    const named = resolveKey(r.state, keyIdParam, callerAccount(r.principal), r.region);
    if (named.keyId !== key.keyId)
      throw new KmsError(
        'IncorrectKeyException',
        'The key ID in the request does not identify a key that can decrypt the ciphertext.',
      );
  }
  authorize(r, key, action, ctx);
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
    Origin: key.origin ?? 'AWS_KMS',
    ...(key.origin === 'EXTERNAL' && key.state !== 'PendingImport' && key.imported?.expirationModel
      ? {
          ExpirationModel: key.imported.expirationModel,
          ...(key.imported.validTo !== undefined ? { ValidTo: key.imported.validTo } : {}),
        }
      : {}),
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...(key.keyUsage === 'ENCRYPT_DECRYPT'
      ? { EncryptionAlgorithms: symmetric ? [SYMMETRIC] : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] }
      : {}),
    ...(key.keyUsage === 'SIGN_VERIFY'
      ? { SigningAlgorithms: ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256'] }
      : {}),
    MultiRegion: key.multiRegion !== undefined,
    ...(key.multiRegion
      ? {
          MultiRegionConfiguration: {
            MultiRegionKeyType: key.multiRegion.type,
            PrimaryKey: { Arn: key.multiRegion.primaryArn, Region: key.multiRegion.primaryArn.split(':')[3] },
            ReplicaKeys: key.multiRegion.replicaRegions.map((region) => ({
              Arn: withRegion(key.multiRegion!.primaryArn, region),
              Region: region,
            })),
          },
        }
      : {}),
    ...(symmetric && key.backing.length > 0 ? { CurrentKeyMaterialId: current(key).id } : {}),
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
    throw new KmsError(
      'ValidationException',
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096",
    );
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
    const origin = str(r.body, 'Origin') ?? 'AWS_KMS';
    if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL')
      throw new KmsError('UnsupportedOperationException', `Origin ${origin} is not supported by this emulator.`);
    if (origin === 'EXTERNAL' && keySpec !== SYMMETRIC)
      throw new KmsError(
        'UnsupportedOperationException',
        'This emulator imports key material for symmetric encryption keys only.',
      );
    const multi = r.body.MultiRegion === true;
    // Multi-Region keys share one key id across regions, prefixed mrk- (KMS Developer Guide, "Multi-Region keys").
    const keyId = multi ? `mrk-${randomBytes(16).toString('hex')}` : newKeyId();
    const arn = keyArn(r.region, account, keyId);
    const key: KmsKey = {
      keyId,
      accountId: account,
      region: r.region,
      arn,
      description: str(r.body, 'Description') ?? '',
      keyUsage: keyUsage as KmsKey['keyUsage'],
      keySpec,
      state: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      creationDate: r.now / 1000,
      policy,
      rotationEnabled: false,
      backing: origin === 'EXTERNAL' ? [] : [newBackingKey(r.now)],
      rotations: [],
      ...(origin === 'EXTERNAL' ? { origin: 'EXTERNAL' as const } : {}),
      ...(multi ? { multiRegion: { type: 'PRIMARY' as const, primaryArn: arn, replicaRegions: [] } } : {}),
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
    const ec = context(r.body, 'EncryptionContext');
    authorize(r, key, 'kms:Encrypt', ec);
    requireUsable(key);
    requireSymmetricEncrypt(key, str(r.body, 'EncryptionAlgorithm'));
    const ct = encryptUnder(key, pt, ec);
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
    return {
      KeyId: key.arn,
      Plaintext: plaintext.toString('base64'),
      EncryptionAlgorithm: SYMMETRIC,
      KeyMaterialId: keyMaterialId,
    };
  },

  GenerateDataKey(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region);
    const spec = str(r.body, 'KeySpec');
    const nb = r.body.NumberOfBytes;
    let size: number;
    if (spec !== undefined && nb !== undefined)
      throw new KmsError('ValidationException', 'Specify either KeySpec or NumberOfBytes, not both.');
    if (spec === 'AES_256') size = 32;
    else if (spec === 'AES_128') size = 16;
    else if (spec !== undefined) throw new KmsError('ValidationException', `KeySpec ${spec} is not valid`);
    else if (typeof nb === 'number' && Number.isInteger(nb) && nb >= 1 && nb <= 1024) size = nb;
    else throw new KmsError('ValidationException', 'Please specify either number of bytes or key spec.');
    const ec = context(r.body, 'EncryptionContext');
    authorize(r, key, 'kms:GenerateDataKey', ec);
    requireUsable(key);
    requireSymmetricEncrypt(key, undefined);
    const pt = randomBytes(size);
    const ct = encryptUnder(key, pt, ec);
    return {
      CiphertextBlob: ct.toString('base64'),
      Plaintext: pt.toString('base64'),
      KeyId: key.arn,
      KeyMaterialId: current(key).id,
    };
  },

  ReEncrypt(r) {
    const dest = resolveKey(r.state, str(r.body, 'DestinationKeyId', true), callerAccount(r.principal), r.region);
    const src = decryptBlob(
      r,
      blob(r.body, 'CiphertextBlob'),
      context(r.body, 'SourceEncryptionContext'),
      str(r.body, 'SourceKeyId'),
      'kms:ReEncryptFrom',
    );
    try {
      const destEc = context(r.body, 'DestinationEncryptionContext');
      authorize(r, dest, 'kms:ReEncryptTo', destEc);
      requireUsable(dest);
      requireSymmetricEncrypt(dest, undefined);
      const ct = encryptUnder(dest, src.plaintext, destEc);
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
    if (key.state === 'PendingDeletion')
      throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (key.state === 'PendingImport') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending import.`);
    key.state = 'Enabled';
    return {};
  },

  DisableKey(r) {
    const key = mutable(r, 'kms:DisableKey', false);
    if (key.state === 'PendingDeletion')
      throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (key.state === 'PendingImport') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending import.`);
    key.state = 'Disabled';
    return {};
  },

  ScheduleKeyDeletion(r) {
    const key = mutable(r, 'kms:ScheduleKeyDeletion', false);
    const days = r.body.PendingWindowInDays ?? 30;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30)
      throw new KmsError(
        'ValidationException',
        "1 validation error detected: Value at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30",
      );
    if (key.state === 'PendingDeletion')
      throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    key.state = 'PendingDeletion';
    key.pendingWindowInDays = days;
    key.deletionDate = Math.floor(r.now / 1000) + days * 86400;
    return { KeyId: key.arn, DeletionDate: key.deletionDate, KeyState: key.state, PendingWindowInDays: days };
  },

  CancelKeyDeletion(r) {
    const key = mutable(r, 'kms:CancelKeyDeletion', false);
    if (key.state !== 'PendingDeletion')
      throw new KmsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
    // As in AWS, a key whose deletion is cancelled comes back Disabled (or PendingImport, without its material).
    key.state = key.origin === 'EXTERNAL' && key.backing.length === 0 ? 'PendingImport' : 'Disabled';
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
    return {
      KeyId: key.arn,
      KeyRotationEnabled: key.rotationEnabled,
      ...(key.rotationEnabled ? { RotationPeriodInDays: key.rotationPeriodInDays } : {}),
    };
  },

  RotateKeyOnDemand(r) {
    const key = mutable(r, 'kms:RotateKeyOnDemand', true);
    if (key.multiRegion?.type === 'REPLICA')
      throw new KmsError(
        'UnsupportedOperationException',
        `${key.arn} is a multi-Region replica key: rotate its primary key.`,
      );
    if (key.origin === 'EXTERNAL')
      throw new KmsError(
        'UnsupportedOperationException',
        `${key.arn} has imported key material, which this emulator does not rotate.`,
      );
    const b = newBackingKey(r.now);
    const rotation = { keyMaterialId: b.id, rotationDate: r.now / 1000, rotationType: 'ON_DEMAND' as const };
    // Rotating a multi-Region primary gives every replica the same new material (they share key material).
    for (const k of [key, ...replicasOf(r.state, key)]) {
      k.backing.push({ ...b });
      k.rotations.push({ ...rotation });
    }
    return { KeyId: key.arn };
  },

  ListKeyRotations(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:ListKeyRotations');
    const cur = key.backing.length > 0 ? current(key).id : undefined;
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
      throw new KmsError(
        'AlreadyExistsException',
        `An alias with the name arn:aws:kms:${r.region}:${account}:${name} already exists`,
      );
    const t = r.now / 1000;
    r.state.aliases.push({
      name,
      accountId: account,
      region: r.region,
      targetKeyId: key.keyId,
      creationDate: t,
      lastUpdatedDate: t,
    });
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

  // ---------------------------------------------------------------- grants

  CreateGrant(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    const grantee = str(r.body, 'GranteePrincipal', true);
    const retiring = str(r.body, 'RetiringPrincipal');
    const ops = r.body.Operations;
    if (!Array.isArray(ops) || ops.length === 0 || !ops.every((o) => typeof o === 'string' && GRANT_OPERATIONS.has(o)))
      throw new KmsError(
        'ValidationException',
        `Operations must be a non-empty list of: ${[...GRANT_OPERATIONS].join(', ')}`,
      );
    if (!PRINCIPAL_ARN_RE.test(grantee))
      throw new KmsError('ValidationException', `GranteePrincipal ${grantee} is not a valid principal ARN`);
    if (retiring !== undefined && !PRINCIPAL_ARN_RE.test(retiring))
      throw new KmsError('ValidationException', `RetiringPrincipal ${retiring} is not a valid principal ARN`);
    const constraints = grantConstraints(r.body.Constraints);
    authorize(r, key, 'kms:CreateGrant', undefined, {
      'kms:GranteePrincipal': grantee,
      ...(retiring ? { 'kms:RetiringPrincipal': retiring } : {}),
      'kms:GrantOperations': ops as string[],
    });
    const name = str(r.body, 'Name');
    // CreateGrant is idempotent for the same name, grantee, operations and constraints (KMS API Reference).
    const same = (r.state.grants ?? []).find(
      (g) =>
        g.keyArn === key.arn &&
        name !== undefined &&
        g.name === name &&
        g.granteePrincipal === grantee &&
        JSON.stringify([...g.operations].sort()) === JSON.stringify([...(ops as string[])].sort()) &&
        JSON.stringify(g.constraints ?? null) === JSON.stringify(constraints ?? null),
    );
    if (same) return { GrantId: same.grantId, GrantToken: same.grantToken };
    const grant: KmsGrant = {
      grantId: randomBytes(32).toString('hex'),
      grantToken: randomBytes(48).toString('base64url'),
      keyArn: key.arn,
      ...(name !== undefined ? { name } : {}),
      granteePrincipal: grantee,
      ...(retiring !== undefined ? { retiringPrincipal: retiring } : {}),
      issuingAccount: `arn:aws:iam::${callerAccount(r.principal)}:root`,
      operations: [...new Set(ops as string[])],
      ...(constraints ? { constraints } : {}),
      creationDate: r.now / 1000,
    };
    (r.state.grants ??= []).push(grant);
    return { GrantId: grant.grantId, GrantToken: grant.grantToken };
  },

  ListGrants(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:ListGrants');
    const id = str(r.body, 'GrantId');
    const grantee = str(r.body, 'GranteePrincipal');
    const grants = (r.state.grants ?? []).filter(
      (g) =>
        g.keyArn === key.arn &&
        (id === undefined || g.grantId === id) &&
        (grantee === undefined || g.granteePrincipal === grantee),
    );
    return { Grants: grants.map(grantView), Truncated: false };
  },

  /**
   * RetireGrant: by GrantToken, or KeyId + GrantId. Allowed for the grant's retiring principal, for its grantee
   * when the grant lists RetireGrant, and for the key's account (KMS Developer Guide, "Retiring and revoking grants").
   */
  RetireGrant(r) {
    const token = str(r.body, 'GrantToken');
    const id = str(r.body, 'GrantId');
    const keyIdIn = str(r.body, 'KeyId');
    let grant: KmsGrant | undefined;
    if (token !== undefined) grant = (r.state.grants ?? []).find((g) => g.grantToken === token);
    else if (id !== undefined && keyIdIn !== undefined) {
      const key = resolveKey(r.state, keyIdIn, callerAccount(r.principal), r.region, false);
      grant = (r.state.grants ?? []).find((g) => g.keyArn === key.arn && g.grantId === id);
    } else throw new KmsError('ValidationException', 'Specify a GrantToken, or a KeyId and a GrantId.');
    if (!grant) {
      if (token !== undefined) throw new KmsError('InvalidGrantTokenException', 'The grant token is not valid.');
      throw new KmsError('NotFoundException', `Grant ${id} does not exist`);
    }
    const caller = identityOf(r.principal);
    const names = [caller.arn, caller.roleArn].filter(Boolean);
    const may =
      (grant.retiringPrincipal !== undefined && names.includes(grant.retiringPrincipal)) ||
      (names.includes(grant.granteePrincipal) && grant.operations.includes('RetireGrant')) ||
      grant.issuingAccount === `arn:aws:iam::${caller.accountId}:root`;
    if (!may)
      throw new KmsError(
        'AccessDeniedException',
        `User: ${caller.arn} is not authorized to perform: kms:RetireGrant on resource: ${grant.keyArn}`,
      );
    r.state.grants = (r.state.grants ?? []).filter((g) => g !== grant);
    return {};
  },

  RevokeGrant(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    const id = str(r.body, 'GrantId', true);
    authorize(r, key, 'kms:RevokeGrant');
    const grant = (r.state.grants ?? []).find((g) => g.keyArn === key.arn && g.grantId === id);
    if (!grant) throw new KmsError('NotFoundException', `Grant ${id} does not exist`);
    r.state.grants = (r.state.grants ?? []).filter((g) => g !== grant);
    return {};
  },

  // ---------------------------------------------------------------- imported key material (Origin EXTERNAL)

  GetParametersForImport(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:GetParametersForImport');
    if (key.origin !== 'EXTERNAL')
      throw new KmsError(
        'UnsupportedOperationException',
        `${key.arn} origin is AWS_KMS which is not valid for this operation.`,
      );
    if (key.state === 'PendingDeletion')
      throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    const algorithm = str(r.body, 'WrappingAlgorithm', true);
    const spec = str(r.body, 'WrappingKeySpec', true);
    if (algorithm !== 'RSAES_OAEP_SHA_1' && algorithm !== 'RSAES_OAEP_SHA_256')
      throw new KmsError(
        'ValidationException',
        `WrappingAlgorithm ${algorithm} is not supported by this emulator (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256).`,
      );
    const bits = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 }[spec];
    if (!bits) throw new KmsError('ValidationException', `WrappingKeySpec ${spec} is not valid`);
    const pair = generateKeyPairSync('rsa', { modulusLength: bits });
    const validTo = Math.floor(r.now / 1000) + 24 * 3600;
    const token = randomBytes(64).toString('base64');
    const imported = (key.imported ??= { digest: '' });
    imported.pending = {
      token,
      privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      algorithm,
      validTo,
    };
    return {
      KeyId: key.arn,
      ImportToken: token,
      PublicKey: (pair.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64'),
      ParametersValidTo: validTo,
    };
  },

  ImportKeyMaterial(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:ImportKeyMaterial');
    if (key.origin !== 'EXTERNAL')
      throw new KmsError(
        'UnsupportedOperationException',
        `${key.arn} origin is AWS_KMS which is not valid for this operation.`,
      );
    if (key.state === 'PendingDeletion')
      throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    const token = blob(r.body, 'ImportToken');
    const pending = key.imported?.pending;
    if (
      !pending ||
      !pending.token ||
      Buffer.from(pending.token, 'base64').compare(token) !== 0 ||
      pending.validTo * 1000 <= r.now
    )
      throw new KmsError(
        'ExpiredImportTokenException',
        'The import token is expired or does not belong to this key; call GetParametersForImport again.',
      );
    const model = str(r.body, 'ExpirationModel');
    const validToRaw = r.body.ValidTo;
    if (model !== undefined && model !== 'KEY_MATERIAL_EXPIRES' && model !== 'KEY_MATERIAL_DOES_NOT_EXPIRE')
      throw new KmsError('ValidationException', `ExpirationModel ${model} is not valid`);
    if (model === 'KEY_MATERIAL_DOES_NOT_EXPIRE' && validToRaw !== undefined)
      throw new KmsError(
        'ValidationException',
        'ValidTo cannot be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.',
      );
    if (model === 'KEY_MATERIAL_EXPIRES' && validToRaw === undefined)
      throw new KmsError('ValidationException', 'ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.');
    let validTo: number | undefined;
    if (validToRaw !== undefined) {
      if (typeof validToRaw !== 'number' || validToRaw * 1000 <= r.now || validToRaw * 1000 > r.now + 365 * 86400_000)
        throw new KmsError('ValidationException', 'ValidTo must be a time in the future, at most 365 days away.');
      validTo = validToRaw;
    }
    let material: Buffer;
    try {
      material = privateDecrypt(
        {
          key: pending.privateKeyPem,
          padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: pending.algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256',
        },
        blob(r.body, 'EncryptedKeyMaterial'),
      );
    } catch {
      throw new KmsError(
        'InvalidCiphertextException',
        'The encrypted key material could not be decrypted with the wrapping key of this import token.',
      );
    }
    if (material.length !== 32)
      throw new KmsError(
        'IncorrectKeyMaterialException',
        'Key material for a symmetric encryption key must be 256 bits.',
      );
    const digest = createHash('sha256').update(material).digest('hex');
    // A key only ever takes the material it was first given: ciphertexts stay tied to that material.
    if (key.imported!.digest && key.imported!.digest !== digest)
      throw new KmsError(
        'IncorrectKeyMaterialException',
        'The key material does not match the key material previously imported into this KMS key.',
      );
    key.imported = {
      digest,
      expirationModel: validTo !== undefined ? 'KEY_MATERIAL_EXPIRES' : 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      ...(validTo !== undefined ? { validTo } : {}),
    };
    key.backing = [{ id: digest, material: material.toString('base64'), createdAt: r.now }];
    material.fill(0);
    if (key.state === 'PendingImport') key.state = 'Enabled';
    return { KeyId: key.arn, KeyMaterialId: digest };
  },

  DeleteImportedKeyMaterial(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:DeleteImportedKeyMaterial');
    if (key.origin !== 'EXTERNAL')
      throw new KmsError(
        'UnsupportedOperationException',
        `${key.arn} origin is AWS_KMS which is not valid for this operation.`,
      );
    if (key.state === 'PendingDeletion')
      throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    expireImportedMaterial(key);
    return { KeyId: key.arn };
  },

  // ---------------------------------------------------------------- multi-Region keys

  /**
   * ReplicateKey: a replica in another region with the same key id and shared key material, its own key policy
   * and its own key state (KMS Developer Guide, "Multi-Region keys"), so ciphertext of the primary decrypts under
   * the replica and disabling one leaves the other usable.
   */
  ReplicateKey(r) {
    const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
    authorize(r, key, 'kms:ReplicateKey');
    if (!key.multiRegion || key.multiRegion.type !== 'PRIMARY')
      throw new KmsError('UnsupportedOperationException', `${key.arn} is not a multi-Region primary key.`);
    const region = str(r.body, 'ReplicaRegion', true);
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
      throw new KmsError('ValidationException', `ReplicaRegion ${region} is not valid`);
    if (region === key.region || key.multiRegion.replicaRegions.includes(region))
      throw new KmsError('AlreadyExistsException', `A key with id ${key.keyId} already exists in ${region}.`);
    if (key.state === 'PendingDeletion' || key.state === 'PendingImport')
      throw new KmsError(
        'KMSInvalidStateException',
        `${key.arn} is ${key.state === 'PendingDeletion' ? 'pending deletion' : 'pending import'}.`,
      );
    const policy = str(r.body, 'Policy') ?? defaultKeyPolicy(key.accountId);
    validatePolicy(policy);
    const replica: KmsKey = {
      ...(JSON.parse(JSON.stringify(key)) as KmsKey),
      region,
      arn: withRegion(key.arn, region),
      description: str(r.body, 'Description') ?? key.description,
      state: key.state === 'Disabled' ? 'Disabled' : 'Enabled',
      creationDate: r.now / 1000,
      policy,
      multiRegion: { type: 'REPLICA', primaryArn: key.arn, replicaRegions: [] },
    };
    delete replica.deletionDate;
    delete replica.pendingWindowInDays;
    key.multiRegion.replicaRegions.push(region);
    r.state.keys.push(replica);
    return { ReplicaKeyMetadata: keyMetadata(replica), ReplicaPolicy: policy, ReplicaTags: [] };
  },

  ListKeys(r) {
    const account = callerAccount(r.principal);
    authorizeAccount(r, 'kms:ListKeys', '*');
    return {
      Keys: r.state.keys
        .filter((k) => k.accountId === account && k.region === r.region)
        .map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })),
      Truncated: false,
    };
  },
};

/** Operations a grant may allow (KMS Developer Guide, "Grant operations"). */
const GRANT_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
  'DescribeKey',
  'CreateGrant',
  'RetireGrant',
]);

const PRINCIPAL_ARN_RE =
  /^arn:(aws|aws-cn|aws-us-gov):(iam::\d{12}:(root|user\/.+|role\/.+)|sts::\d{12}:(assumed-role|federated-user)\/.+)$/;

function grantConstraints(v: unknown): KmsGrant['constraints'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new KmsError('ValidationException', 'Constraints must be an object');
  const c = v as Record<string, unknown>;
  const out: NonNullable<KmsGrant['constraints']> = {};
  for (const f of ['EncryptionContextEquals', 'EncryptionContextSubset'] as const) {
    if (c[f] === undefined) continue;
    const m = context(c, f);
    if (m && Object.keys(m).length > 0) out[f] = m;
  }
  return Object.keys(out).length ? out : undefined;
}

function grantView(g: KmsGrant): Record<string, unknown> {
  return {
    KeyId: g.keyArn,
    GrantId: g.grantId,
    ...(g.name !== undefined ? { Name: g.name } : {}),
    CreationDate: g.creationDate,
    GranteePrincipal: g.granteePrincipal,
    ...(g.retiringPrincipal !== undefined ? { RetiringPrincipal: g.retiringPrincipal } : {}),
    IssuingAccount: g.issuingAccount,
    Operations: g.operations,
    ...(g.constraints ? { Constraints: g.constraints } : {}),
  };
}

function withRegion(arn: string, region: string): string {
  const parts = arn.split(':');
  parts[3] = region;
  return parts.join(':');
}

function replicasOf(state: AwsState, key: KmsKey): KmsKey[] {
  if (key.multiRegion?.type !== 'PRIMARY') return [];
  return state.keys.filter((k) => k.multiRegion?.type === 'REPLICA' && k.multiRegion.primaryArn === key.arn);
}

/** Imported material expired or deleted: the material is gone and the key waits for it again (PendingImport). */
export function expireImportedMaterial(key: KmsKey): void {
  for (const b of key.backing) b.material = '';
  key.backing = [];
  if (key.imported) {
    delete key.imported.validTo;
    delete key.imported.expirationModel;
    delete key.imported.pending;
  }
  if (key.state !== 'PendingDeletion') key.state = 'PendingImport';
}

/**
 * The end of a key's waiting period: the key, its aliases and its grants are gone, and its ciphertexts can never be
 * decrypted again (KMS Developer Guide, "Deleting AWS KMS keys"). A replica leaves its primary's replica list.
 */
export function completeDeletion(state: AwsState, key: KmsKey): void {
  state.keys = state.keys.filter((k) => k !== key);
  state.aliases = state.aliases.filter(
    (a) => !(a.targetKeyId === key.keyId && a.region === key.region && a.accountId === key.accountId),
  );
  state.grants = (state.grants ?? []).filter((g) => g.keyArn !== key.arn);
  (state.deletedKeys ??= []).push(key.arn);
  if (key.multiRegion?.type === 'REPLICA') {
    const primary = state.keys.find((k) => k.arn === key.multiRegion!.primaryArn);
    if (primary?.multiRegion)
      primary.multiRegion.replicaRegions = primary.multiRegion.replicaRegions.filter((r) => r !== key.region);
  }
  for (const b of key.backing) b.material = '';
}

/**
 * Time-driven transitions, applied before each request: deletions whose waiting period ended complete, and imported
 * material whose ValidTo passed expires. Returns whether anything changed (the host then persists).
 */
export function settle(state: AwsState, now: number): boolean {
  let changed = false;
  for (const key of [...state.keys]) {
    if (key.state === 'PendingDeletion' && key.deletionDate !== undefined && key.deletionDate * 1000 <= now) {
      completeDeletion(state, key);
      changed = true;
    } else if (
      key.origin === 'EXTERNAL' &&
      key.imported?.validTo !== undefined &&
      key.imported.validTo * 1000 <= now &&
      key.backing.length > 0
    ) {
      expireImportedMaterial(key);
      changed = true;
    }
  }
  return changed;
}

function aliasName(r: KmsRequest): string {
  const name = str(r.body, 'AliasName', true);
  if (!ALIAS_NAME_RE.test(name))
    throw new KmsError('ValidationException', `Alias name ${name} is not valid: it must match alias/[a-zA-Z0-9/_-]+`);
  if (name.startsWith('alias/aws/'))
    throw new KmsError(
      'ValidationException',
      'Alias names beginning with alias/aws/ are reserved for AWS managed keys.',
    );
  return name;
}

function findAlias(r: KmsRequest, name: string, action: string): KmsAlias {
  const account = callerAccount(r.principal);
  const a = r.state.aliases.find((x) => x.accountId === account && x.region === r.region && x.name === name);
  if (!a) throw new KmsError('NotFoundException', `Alias arn:aws:kms:${r.region}:${account}:${name} is not found.`);
  const key = r.state.keys.find((k) => k.keyId === a.targetKeyId && k.region === a.region);
  if (key) authorize(r, key, action);
  return a;
}

/** Management operations take a key id or key ARN (aliases only where AWS accepts them). */
function mutable(r: KmsRequest, action: string, requireSymmetric: boolean): KmsKey {
  const key = resolveKey(r.state, str(r.body, 'KeyId', true), callerAccount(r.principal), r.region, false);
  authorize(r, key, action);
  if (requireSymmetric && key.keySpec !== SYMMETRIC)
    throw new KmsError(
      'UnsupportedOperationException',
      `${key.arn} key spec ${key.keySpec} does not support automatic or on-demand rotation.`,
    );
  if (requireSymmetric && key.state !== 'Enabled')
    throw new KmsError(
      key.state === 'Disabled' ? 'DisabledException' : 'KMSInvalidStateException',
      `${key.arn} is ${key.state === 'Disabled' ? 'disabled' : key.state === 'PendingImport' ? 'pending import' : 'pending deletion'}.`,
    );
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
  'CreateGrant',
  'RetireGrant',
  'RevokeGrant',
  'GetParametersForImport',
  'ImportKeyMaterial',
  'DeleteImportedKeyMaterial',
  'ReplicateKey',
]);

export function isKmsOperation(op: string): boolean {
  return Object.prototype.hasOwnProperty.call(handlers, op);
}

export function handleKms(op: string, r: KmsRequest): Record<string, unknown> {
  const h = handlers[op];
  if (!h) throw new KmsError('UnknownOperationException', `Operation ${op} is not supported by this emulator`);
  return h(r);
}
