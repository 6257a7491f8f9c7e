import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DeleteImportedKeyMaterialCommand,
  DisableKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AwsKeyConfig,
  contextToMap,
  ProviderCallObserver,
  ProviderError,
  runValidation,
  WrapContext,
} from '@app/provider-port';
import { AwsKmsProvider, createAwsProvider, parseAwsKeyConfigInput } from '@app/provider-aws';
import { arnNotLikeDeny, tenantScopedStatements } from '../support/aws-customer-policies';
import { AwsEmulatorHarness, startAwsEmulator } from '../support/aws-emulator';
import { emulatorAdmin, EmulatorAdmin } from '../support/emulator-admin';

/**
 * Keyhold's AWS binding on the parts of AWS where the revocation decision branches (docs/EMULATORS.md, "AWS
 * fidelity"): customer key policies that scope by encryption context or deny by ArnNotLike, access through a grant
 * and its revocation, a deletion that completes, imported key material that expires, a multi-Region replica.
 */
let aws: AwsEmulatorHarness;
let kms: KMSClient;
let iam: IAMClient;
let admin: EmulatorAdmin;
const providers: AwsKmsProvider[] = [];
const observer = new ProviderCallObserver();

beforeAll(async () => {
  aws = await startAwsEmulator();
  kms = aws.customerKms();
  iam = aws.customerIam();
  admin = emulatorAdmin(aws.adminUrl);
});
afterAll(async () => {
  for (const p of providers) await p.close();
  await aws.close();
});

function provider(): AwsKmsProvider {
  const p = createAwsProvider(
    {
      region: aws.region,
      kmsEndpoint: aws.url,
      stsEndpoint: aws.url,
      vendorCredentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey },
      vendorPrincipalArn: aws.vendor.arn,
      maxAttempts: 1,
      requestTimeoutMs: 2000,
      allowedPartitions: ['aws'],
    },
    observer,
  );
  providers.push(p);
  return p;
}

let seq = 0;
const root = () => ({
  Sid: 'Root',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${aws.customerAccountId}:root` },
  Action: 'kms:*',
  Resource: '*',
});
const keyPolicy = (...statements: unknown[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [root(), ...statements] });

/** A tenant's role trusting Keyhold with its ExternalId, and a key created by `makeKey` (given the role ARN). */
async function tenant(makeKey: (roleArn: string, p: AwsKmsProvider) => Promise<string>) {
  const p = provider();
  const externalId = randomBytes(24).toString('base64url');
  const tenantId = `tenant-fidelity-${++seq}`;
  const role = await iam.send(
    new CreateRoleCommand({
      RoleName: `keyhold-fidelity-${seq}`,
      Path: '/keyhold/',
      AssumeRolePolicyDocument: p.trustPolicy(externalId),
    }),
  );
  const roleArn = role.Role!.Arn!;
  const keyArn = await makeKey(roleArn, p);
  const config: AwsKeyConfig = parseAwsKeyConfigInput({ keyArn, roleArn }, externalId, { allowedPartitions: ['aws'] });
  return { p, config, keyArn, roleArn, tenantId };
}

const ctxFor = (tenantId: string): WrapContext => ({
  tenantId,
  workspaceId: 'ws-1',
  keyConfigurationId: 'kc-1',
  kekVersion: 1,
  purpose: 'workspace-kek',
});
const createKey = async (policy?: string, extra: Record<string, unknown> = {}) =>
  (await kms.send(new CreateKeyCommand({ ...(policy ? { Policy: policy } : {}), ...extra }))).KeyMetadata!.Arn!;

async function classOf(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

describe('AWS provider on the unfriendly emulator', () => {
  it('Keyhold sends its whole wrap context as the KMS encryption context, on wrap, unwrap and rewrap', () => {
    expect(contextToMap(ctxFor('t-1'))).toEqual({
      'keyhold:kek-version': '1',
      'keyhold:key-configuration': 'kc-1',
      'keyhold:purpose': 'workspace-kek',
      'keyhold:tenant': 't-1',
      'keyhold:workspace': 'ws-1',
    });
  });

  it('a key policy scoping Keyhold by kms:EncryptionContext:keyhold:tenant validates, wraps, unwraps and rewraps; another tenant context is refused', async () => {
    const t = await tenant(async (roleArn) =>
      createKey(keyPolicy(...tenantScopedStatements(roleArn, `tenant-fidelity-${seq}`))),
    );
    const report = await runValidation(t.p, t.config, { tenantId: t.tenantId, keyConfigurationId: 'kc-1' });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    const wrapped = await t.p.wrap(t.config, Buffer.alloc(32, 7), ctxFor(t.tenantId));
    expect((await t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId))).equals(Buffer.alloc(32, 7))).toBe(true);
    await t.p.rewrap(t.config, wrapped, ctxFor(t.tenantId));
    expect((await t.p.describe(t.config, { tenantId: t.tenantId })).state).toBe('enabled');
    // The same role used under another tenant's context (a confused deputy) is refused by the customer's policy.
    expect((await classOf(t.p.wrap(t.config, Buffer.alloc(32, 7), ctxFor('someone-else')))).errorClass).toBe(
      'access_denied',
    );
  });

  it('a customer Deny with ArnNotLike on aws:PrincipalArn is a revocation: access_denied on describe and unwrap', async () => {
    const t = await tenant(async (roleArn, p) => createKey(keyPolicy(JSON.parse(p.keyPolicyStatement(roleArn)))));
    const wrapped = await t.p.wrap(t.config, Buffer.alloc(32, 8), ctxFor(t.tenantId));
    await kms.send(
      new PutKeyPolicyCommand({
        KeyId: t.keyArn,
        PolicyName: 'default',
        Policy: keyPolicy(JSON.parse(t.p.keyPolicyStatement(t.roleArn)), arnNotLikeDeny(aws.customerAccountId)),
      }),
    );
    for (const e of [
      await classOf(t.p.describe(t.config, { tenantId: t.tenantId })),
      await classOf(t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId))),
    ])
      expect([e.errorClass, e.providerCode, e.revocationCandidate]).toEqual([
        'access_denied',
        'AccessDeniedException',
        true,
      ]);
  });

  it('access through a KMS grant validates and works; RevokeGrant is a revocation (access_denied)', async () => {
    let grantId = '';
    const t = await tenant(async (roleArn) => {
      const arn = await createKey(); // default key policy: the account only
      grantId = (
        await kms.send(
          new CreateGrantCommand({
            KeyId: arn,
            GranteePrincipal: roleArn,
            Operations: ['Encrypt', 'Decrypt', 'DescribeKey', 'ReEncryptFrom', 'ReEncryptTo'],
          }),
        )
      ).GrantId!;
      return arn;
    });
    const report = await runValidation(t.p, t.config, { tenantId: t.tenantId, keyConfigurationId: 'kc-1' });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    const wrapped = await t.p.wrap(t.config, Buffer.alloc(32, 9), ctxFor(t.tenantId));
    await t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId));
    await kms.send(new RevokeGrantCommand({ KeyId: t.keyArn, GrantId: grantId }));
    expect((await classOf(t.p.describe(t.config, { tenantId: t.tenantId }))).errorClass).toBe('access_denied');
    expect((await classOf(t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId)))).errorClass).toBe('access_denied');
  });

  it('a deletion that completes is key_not_found on describe and unwrap (not invalid_ciphertext)', async () => {
    const t = await tenant(async (roleArn, p) => createKey(keyPolicy(JSON.parse(p.keyPolicyStatement(roleArn)))));
    const wrapped = await t.p.wrap(t.config, Buffer.alloc(32, 10), ctxFor(t.tenantId));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: t.keyArn, PendingWindowInDays: 7 }));
    expect((await t.p.describe(t.config, { tenantId: t.tenantId })).state).toBe('pending_deletion');
    expect((await admin('POST', `/aws/keys/${encodeURIComponent(t.keyArn)}/complete-deletion`)).status).toBe(200);
    for (const e of [
      await classOf(t.p.describe(t.config, { tenantId: t.tenantId })),
      await classOf(t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId))),
    ])
      expect([e.errorClass, e.providerCode, e.revocationCandidate]).toEqual([
        'key_not_found',
        'NotFoundException',
        true,
      ]);
  });

  it('imported key material deleted or expired (PendingImport) is key_disabled, a revocation candidate; re-importing the same material restores', async () => {
    const material = randomBytes(32);
    const importMaterial = async (arn: string) => {
      const params = await kms.send(
        new GetParametersForImportCommand({
          KeyId: arn,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          WrappingKeySpec: 'RSA_2048',
        }),
      );
      const pub = createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' });
      await kms.send(
        new ImportKeyMaterialCommand({
          KeyId: arn,
          ImportToken: params.ImportToken,
          EncryptedKeyMaterial: publicEncrypt(
            { key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
            material,
          ),
          ExpirationModel: 'KEY_MATERIAL_EXPIRES',
          ValidTo: new Date(Date.now() + 3600_000),
        }),
      );
    };
    const t = await tenant(async (roleArn, p) => {
      const arn = await createKey(keyPolicy(JSON.parse(p.keyPolicyStatement(roleArn))), { Origin: 'EXTERNAL' });
      await importMaterial(arn);
      return arn;
    });
    const wrapped = await t.p.wrap(t.config, Buffer.alloc(32, 11), ctxFor(t.tenantId));

    expect((await admin('POST', `/aws/keys/${encodeURIComponent(t.keyArn)}/expire-key-material`)).status).toBe(200);
    expect((await t.p.describe(t.config, { tenantId: t.tenantId })).state).toBe('disabled');
    const e = await classOf(t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId)));
    expect([e.errorClass, e.providerCode, e.revocationCandidate]).toEqual([
      'key_disabled',
      'KMSInvalidStateException',
      true,
    ]);
    expect(t.p.explain(e, 'round_trip', t.config)).toContain('imported key material');

    await importMaterial(t.keyArn);
    expect((await t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId))).equals(Buffer.alloc(32, 11))).toBe(true);
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: t.keyArn }));
    expect((await classOf(t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId)))).errorClass).toBe('key_disabled');
  });

  it('a multi-Region replica configuration unwraps what was wrapped under the primary; disabling the replica alone is key_disabled there only', async () => {
    let replicaArn = '';
    const t = await tenant(async (roleArn, p) => {
      const arn = await createKey(keyPolicy(JSON.parse(p.keyPolicyStatement(roleArn))), { MultiRegion: true });
      replicaArn = (
        await kms.send(
          new ReplicateKeyCommand({
            KeyId: arn,
            ReplicaRegion: 'eu-west-1',
            Policy: keyPolicy(JSON.parse(p.keyPolicyStatement(roleArn))),
          }),
        )
      ).ReplicaKeyMetadata!.Arn!;
      return arn;
    });
    const replica: AwsKeyConfig = { ...t.config, keyArn: replicaArn };
    const wrapped = await t.p.wrap(t.config, Buffer.alloc(32, 12), ctxFor(t.tenantId));
    expect((await t.p.unwrap(replica, wrapped, ctxFor(t.tenantId))).equals(Buffer.alloc(32, 12))).toBe(true);
    const eu = new KMSClient({
      endpoint: aws.url,
      region: 'eu-west-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      await eu.send(new DisableKeyCommand({ KeyId: replicaArn }));
    } finally {
      eu.destroy();
    }
    expect((await classOf(t.p.unwrap(replica, wrapped, ctxFor(t.tenantId)))).errorClass).toBe('key_disabled');
    expect((await t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId))).equals(Buffer.alloc(32, 12))).toBe(true);
  });
});
