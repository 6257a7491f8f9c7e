import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { AwsEmulatorHarness, startAwsEmulator } from '../support/aws-emulator';

let aws: AwsEmulatorHarness;
let kms: KMSClient;
const extra: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  aws = await startAwsEmulator();
  kms = aws.customerKms();
});
afterAll(async () => {
  for (const c of extra) c.destroy();
  await aws.close();
});
afterEach(() => aws.faults.clear());

function client<T extends { destroy(): void }>(c: T): T {
  extra.push(c);
  return c;
}

async function newKey(policy?: string): Promise<string> {
  const out = await kms.send(new CreateKeyCommand({ Description: 'test', ...(policy ? { Policy: policy } : {}) }));
  return out.KeyMetadata!.Arn!;
}

async function errorOf(
  p: Promise<unknown>,
): Promise<Error & { $metadata?: { attempts?: number; httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

const ctx = { tenant: 't-1', workspace: 'w-1' };

/** A role in the customer account that the vendor user may assume with `externalId`. */
async function vendorRole(name: string, externalId: string | null, identityPolicyFor?: string): Promise<string> {
  const iam = aws.customerIam();
  const trust = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: aws.vendor.arn },
        Action: 'sts:AssumeRole',
        ...(externalId ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
      },
    ],
  };
  const out = await iam.send(
    new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }),
  );
  if (identityPolicyFor) {
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: 'kms',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'], Resource: identityPolicyFor },
          ],
        }),
      }),
    );
  }
  return out.Role!.Arn!;
}

function kmsAs(roleArn: string, externalId?: string, extraParams: Record<string, unknown> = {}): KMSClient {
  return client(
    new KMSClient({
      endpoint: aws.url,
      region: aws.region,
      maxAttempts: 1,
      credentials: fromTemporaryCredentials({
        params: {
          RoleArn: roleArn,
          RoleSessionName: 'test-session',
          ...(externalId ? { ExternalId: externalId } : {}),
          ...extraParams,
        },
        masterCredentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey },
        clientConfig: { endpoint: aws.url, region: aws.region, maxAttempts: 1 },
      }),
    }),
  );
}

describe('AWS KMS emulator through the real SDK', () => {
  it('runs a key lifecycle: create, describe, disable, enable, schedule and cancel deletion', async () => {
    const persistedBefore = aws.persistCalls();
    const arn = await newKey();
    expect(aws.persistCalls()).toBe(persistedBefore + 1);
    const d = await kms.send(new DescribeKeyCommand({ KeyId: arn }));
    expect(d.KeyMetadata).toMatchObject({
      Arn: arn,
      KeyState: 'Enabled',
      Enabled: true,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeySpec: 'SYMMETRIC_DEFAULT',
    });
    expect(d.KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(d.KeyMetadata!.CreationDate!.getTime() - Date.now())).toBeLessThan(10_000);

    await kms.send(new DisableKeyCommand({ KeyId: arn }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata!.KeyState).toBe('Disabled');
    await kms.send(new EnableKeyCommand({ KeyId: arn }));
    const s = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    expect(s.KeyState).toBe('PendingDeletion');
    expect(s.DeletionDate!.getTime() - Date.now()).toBeGreaterThan(6.9 * 86400_000);
    const pd = await kms.send(new DescribeKeyCommand({ KeyId: arn }));
    expect(pd.KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false });
    expect(pd.KeyMetadata!.DeletionDate).toBeInstanceOf(Date);
    await kms.send(new CancelKeyDeletionCommand({ KeyId: arn }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata!.KeyState).toBe('Disabled');
    // create, disable, enable, schedule, cancel: five mutations persisted; reads never persist.
    expect(aws.persistCalls()).toBe(persistedBefore + 5);
  });

  it('exports state that a fresh emulator imports (keys keep decrypting), and resets to boot defaults', async () => {
    const arn = await newKey();
    const enc = await kms.send(
      new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('persisted'), EncryptionContext: ctx }),
    );
    const saved = JSON.parse(JSON.stringify(aws.emulator.exportState()));
    aws.emulator.resetState();
    expect((await errorOf(kms.send(new DescribeKeyCommand({ KeyId: arn })))).name).toBe('NotFoundException');
    aws.emulator.importState(saved);
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx }));
    expect(Buffer.from(back.Plaintext!).toString()).toBe('persisted');
    expect(() => aws.emulator.importState({ nonsense: true })).toThrow('keys and roles');
  });

  it('round-trips with an encryption context, with and without KeyId on Decrypt, and by alias', async () => {
    const arn = await newKey();
    const keyId = arn.split('/')[1];
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/round-trip', TargetKeyId: keyId }));
    const enc = await kms.send(
      new EncryptCommand({ KeyId: 'alias/round-trip', Plaintext: Buffer.from('kek bytes'), EncryptionContext: ctx }),
    );
    expect(enc.KeyId).toBe(arn);
    const a = await kms.send(
      new DecryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        EncryptionContext: { workspace: 'w-1', tenant: 't-1' },
      }),
    );
    expect(Buffer.from(a.Plaintext!).toString()).toBe('kek bytes');
    expect(a.KeyId).toBe(arn);
    const b = await kms.send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx, KeyId: keyId }),
    );
    expect(Buffer.from(b.Plaintext!).toString()).toBe('kek bytes');
    const aliases = await kms.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(aliases.Aliases!.map((x) => x.AliasArn)).toEqual([
      `arn:aws:kms:${aws.region}:${aws.customerAccountId}:alias/round-trip`,
    ]);
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: ctx }));
    expect(dk.Plaintext!.length).toBe(32);
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ctx }));
    expect(Buffer.from(back.Plaintext!).equals(Buffer.from(dk.Plaintext!))).toBe(true);
  });

  it('refuses a changed context, a tampered blob and a wrong KeyId', async () => {
    const arn = await newKey();
    const other = await newKey();
    const enc = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x'), EncryptionContext: ctx }));
    expect(
      (
        await errorOf(
          kms.send(
            new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { ...ctx, workspace: 'w-2' } }),
          ),
        )
      ).name,
    ).toBe('InvalidCiphertextException');
    expect((await errorOf(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).name).toBe(
      'InvalidCiphertextException',
    );
    const tampered = Buffer.from(enc.CiphertextBlob!);
    tampered[tampered.length - 1] ^= 1;
    expect(
      (await errorOf(kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: ctx })))).name,
    ).toBe('InvalidCiphertextException');
    expect(
      (
        await errorOf(
          kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx, KeyId: other })),
        )
      ).name,
    ).toBe('IncorrectKeyException');
  });

  it('answers DisabledException, KMSInvalidStateException, NotFoundException and InvalidKeyUsageException', async () => {
    const arn = await newKey();
    const enc = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    await kms.send(new DisableKeyCommand({ KeyId: arn }));
    const disabled = await errorOf(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })));
    expect(disabled.name).toBe('DisabledException');
    expect(disabled.$metadata!.httpStatusCode).toBe(400);
    await kms.send(new EnableKeyCommand({ KeyId: arn }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    expect((await errorOf(kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })))).name).toBe(
      'KMSInvalidStateException',
    );
    const unknown = arn.replace(/key\/.*/, 'key/00000000-0000-0000-0000-000000000000');
    expect((await errorOf(kms.send(new DescribeKeyCommand({ KeyId: unknown })))).name).toBe('NotFoundException');
    expect((await errorOf(kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })))).name).toBe('NotFoundException');
    const sign = await kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'RSA_2048' }));
    expect(sign.KeyMetadata).toMatchObject({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'RSA_2048' });
    expect(
      (await errorOf(kms.send(new EncryptCommand({ KeyId: sign.KeyMetadata!.Arn, Plaintext: Buffer.from('x') })))).name,
    ).toBe('InvalidKeyUsageException');
  });

  it('rotation adds key material and keeps old ciphertexts decryptable; ReEncrypt moves to the new material', async () => {
    const arn = await newKey();
    const before = await kms.send(
      new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('old'), EncryptionContext: ctx }),
    );
    const m0 = (await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata!.CurrentKeyMaterialId;
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: arn }));
    expect(rotations.Rotations).toHaveLength(1);
    const m1 = rotations.Rotations![0].KeyMaterialId;
    expect(m1).toMatch(/^[0-9a-f]{64}$/);
    expect(m1).not.toBe(m0);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata!.CurrentKeyMaterialId).toBe(m1);
    const old = await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob, EncryptionContext: ctx }));
    expect(Buffer.from(old.Plaintext!).toString()).toBe('old');
    expect(old.KeyMaterialId).toBe(m0);
    const re = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: before.CiphertextBlob,
        SourceEncryptionContext: ctx,
        DestinationKeyId: arn,
        DestinationEncryptionContext: ctx,
      }),
    );
    const now = await kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: ctx }));
    expect(now.KeyMaterialId).toBe(m1);
  });

  it('evaluates key policies: a key whose policy omits the caller refuses it with AccessDeniedException', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${aws.customerAccountId}:root` },
          Action: ['kms:DescribeKey', 'kms:PutKeyPolicy', 'kms:GetKeyPolicy'],
          Resource: '*',
        },
      ],
    });
    const arn = await newKey(policy);
    const denied = await errorOf(kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('kms:Encrypt');
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: arn, PolicyName: 'default' }))).Policy).toBe(policy);
    const withDeny = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Deny',
          Principal: { AWS: `arn:aws:iam::${aws.customerAccountId}:root` },
          Action: 'kms:Encrypt',
          Resource: '*',
        },
      ],
    });
    await kms.send(new PutKeyPolicyCommand({ KeyId: arn, PolicyName: 'default', Policy: withDeny }));
    expect((await errorOf(kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })))).name).toBe(
      'AccessDeniedException',
    );
    expect((await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata!.Arn).toBe(arn);
    expect(
      (
        await errorOf(
          kms.send(
            new PutKeyPolicyCommand({
              KeyId: arn,
              PolicyName: 'default',
              Policy: '{"Statement":[{"Effect":"Maybe"}]}',
            }),
          ),
        )
      ).name,
    ).toBe('MalformedPolicyDocumentException');
  });

  it('STS: AssumeRole enforces the trust policy ExternalId; the session acts as the role through IAM and key policy', async () => {
    const keyArn = await newKey();
    const roleArn = await vendorRole('vendor-role-a', 'ext-123456', keyArn);
    const sts = client(
      new STSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey },
      }),
    );
    const me = await sts.send(new GetCallerIdentityCommand({}));
    expect(me).toMatchObject({ Arn: aws.vendor.arn, Account: aws.vendor.accountId });
    const wrong = await errorOf(
      sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's1', ExternalId: 'ext-wrong' })),
    );
    expect(wrong.name).toBe('AccessDenied');
    expect(wrong.$metadata!.httpStatusCode).toBe(403);
    expect((await errorOf(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's1' })))).name).toBe(
      'AccessDenied',
    );
    const ok = await sts.send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: 's1',
        ExternalId: 'ext-123456',
        DurationSeconds: 900,
      }),
    );
    expect(ok.Credentials!.AccessKeyId).toMatch(/^ASIA/);
    expect(ok.Credentials!.Expiration!.getTime() - Date.now()).toBeGreaterThan(880_000);
    expect(ok.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${aws.customerAccountId}:assumed-role/vendor-role-a/s1`);

    const roleKms = kmsAs(roleArn, 'ext-123456');
    const enc = await roleKms.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x'), EncryptionContext: ctx }),
    );
    await roleKms.send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx, KeyId: keyArn }),
    );
    const viaWrongExt = await errorOf(kmsAs(roleArn, 'ext-bad').send(new DescribeKeyCommand({ KeyId: keyArn })));
    expect(viaWrongExt.name).toBe('AccessDenied');

    // Revocation through IAM: the default key policy delegates to IAM; without the role's policy, denied.
    await aws.customerIam().send(new DeleteRolePolicyCommand({ RoleName: 'vendor-role-a', PolicyName: 'kms' }));
    expect(
      (
        await errorOf(
          roleKms.send(
            new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx, KeyId: keyArn }),
          ),
        )
      ).name,
    ).toBe('AccessDeniedException');
    await aws.customerIam().send(new DeleteRoleCommand({ RoleName: 'vendor-role-a' }));
    expect((await errorOf(aws.customerIam().send(new GetRoleCommand({ RoleName: 'vendor-role-a' })))).name).toBe(
      'NoSuchEntityException',
    );
  });

  it('a session policy narrows the session; a key policy naming the role needs no IAM policy', async () => {
    const roleArn = await vendorRole('vendor-role-b', 'ext-abcdef');
    const keyArn = await newKey(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${aws.customerAccountId}:root` },
            Action: 'kms:*',
            Resource: '*',
          },
          {
            Effect: 'Allow',
            Principal: { AWS: roleArn },
            Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'],
            Resource: '*',
          },
        ],
      }),
    );
    const plain = kmsAs(roleArn, 'ext-abcdef');
    await plain.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
    const narrowed = kmsAs(roleArn, 'ext-abcdef', {
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: keyArn }],
      }),
    });
    await narrowed.send(new DescribeKeyCommand({ KeyId: keyArn }));
    const denied = await errorOf(narrowed.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('session policy');
    // Remove the role from the key policy: denied (no IAM policy to fall back on).
    await kms.send(
      new PutKeyPolicyCommand({
        KeyId: keyArn,
        PolicyName: 'default',
        Policy: JSON.stringify({
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${aws.customerAccountId}:root` },
              Action: 'kms:*',
              Resource: '*',
            },
          ],
        }),
      }),
    );
    expect((await errorOf(plain.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })))).name).toBe(
      'AccessDeniedException',
    );
  });

  it('surfaces throttling and 5xx faults as the SDK retryable errors after its retries', async () => {
    const arn = await newKey();
    const retrying = client(
      new KMSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 2,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    );
    aws.counters.reset();
    aws.faults.add({ cloud: 'aws', operation: 'DescribeKey', kind: 'throttle' });
    const t = await errorOf(retrying.send(new DescribeKeyCommand({ KeyId: arn })));
    expect(t.name).toBe('ThrottlingException');
    expect(t.$metadata!.attempts).toBe(2);
    expect(aws.counters.total({ operation: 'DescribeKey', outcome: 'fault:throttle' })).toBe(2);
    aws.faults.clear();
    aws.faults.add({ cloud: 'aws', operation: 'Encrypt', kind: 'error', count: 1 });
    const ok = await retrying.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    expect(ok.$metadata.attempts).toBe(2);
    aws.faults.add({ cloud: 'aws', operation: 'Encrypt', kind: 'error' });
    const e = await errorOf(retrying.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') })));
    expect(e.name).toBe('KMSInternalException');
    expect(e.$metadata!.httpStatusCode).toBe(500);
    expect(e.$metadata!.attempts).toBe(2);
  });

  it('applies injected latency and counts calls exactly per operation, principal and outcome', async () => {
    const arn = await newKey();
    aws.counters.reset();
    aws.faults.add({ cloud: 'aws', operation: 'DescribeKey', kind: 'latency', latencyMs: 150 });
    const started = Date.now();
    await kms.send(new DescribeKeyCommand({ KeyId: arn }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    const started2 = Date.now();
    await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    expect(Date.now() - started2).toBeLessThan(145);
    await errorOf(kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' })));
    const root = `arn:aws:iam::${aws.customerAccountId}:root`;
    expect(aws.counters.list()).toEqual(
      expect.arrayContaining([
        { cloud: 'aws', operation: 'DescribeKey', principal: root, outcome: 'ok', count: 1 },
        { cloud: 'aws', operation: 'DescribeKey', principal: root, outcome: 'NotFoundException', count: 1 },
        { cloud: 'aws', operation: 'Encrypt', principal: root, outcome: 'ok', count: 1 },
      ]),
    );
    expect(aws.counters.total()).toBe(3);
  });

  it('refuses a bad signature, an unknown access key and a session key without its token', async () => {
    const bad = client(
      new KMSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: { accessKeyId: 'test', secretAccessKey: 'not-test' },
      }),
    );
    expect((await errorOf(bad.send(new ListAliasesCommand({})))).name).toBe('InvalidSignatureException');
    const unknown = client(
      new KMSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' },
      }),
    );
    expect((await errorOf(unknown.send(new ListAliasesCommand({})))).name).toBe('UnrecognizedClientException');
    const badSts = client(
      new STSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: 'wrong' },
      }),
    );
    expect((await errorOf(badSts.send(new GetCallerIdentityCommand({})))).name).toBe('SignatureDoesNotMatch');
    const roleArn = await vendorRole('vendor-role-c', 'ext-zzzzzz');
    const sts = client(
      new STSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey },
      }),
    );
    const creds = (
      await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'session', ExternalId: 'ext-zzzzzz' }))
    ).Credentials!;
    const noToken = client(
      new KMSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey! },
      }),
    );
    expect((await errorOf(noToken.send(new ListAliasesCommand({})))).name).toBe('UnrecognizedClientException');
    const wrongToken = client(
      new KMSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: { accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: 'AAAA' },
      }),
    );
    expect((await errorOf(wrongToken.send(new ListAliasesCommand({})))).name).toBe('UnrecognizedClientException');
  });

  it('answers ExpiredTokenException for an expired session, and exports/imports state', async () => {
    const roleArn = await vendorRole('vendor-role-d', 'ext-yyyyyy');
    const sts = client(
      new STSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey },
      }),
    );
    const creds = (
      await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'session', ExternalId: 'ext-yyyyyy' }))
    ).Credentials!;
    const state = aws.emulator.exportState() as { sessions: Array<{ accessKeyId: string; expiresAt: number }> };
    state.sessions.find((s) => s.accessKeyId === creds.AccessKeyId)!.expiresAt = Date.now() - 1000;
    aws.emulator.importState(state);
    const expired = client(
      new KMSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: {
          accessKeyId: creds.AccessKeyId!,
          secretAccessKey: creds.SecretAccessKey!,
          sessionToken: creds.SessionToken!,
        },
      }),
    );
    expect((await errorOf(expired.send(new ListAliasesCommand({})))).name).toBe('ExpiredTokenException');
    const expiredSts = client(
      new STSClient({
        endpoint: aws.url,
        region: aws.region,
        maxAttempts: 1,
        credentials: {
          accessKeyId: creds.AccessKeyId!,
          secretAccessKey: creds.SecretAccessKey!,
          sessionToken: creds.SessionToken!,
        },
      }),
    );
    expect((await errorOf(expiredSts.send(new GetCallerIdentityCommand({})))).name).toBe('ExpiredToken');
    expect((await aws.customerIam().send(new GetRoleCommand({ RoleName: 'vendor-role-d' }))).Role!.Arn).toBe(roleArn);
  });

  it('serves admin routes under /aws', async () => {
    const arn = await newKey();
    const res = await fetch(`${aws.adminUrl}/aws/keys`);
    const body = (await res.json()) as { keys: Array<{ Arn: string }> };
    expect(body.keys.map((k) => k.Arn)).toContain(arn);
    expect(JSON.stringify(body)).not.toContain('material');
  });
});

describe('AWS KMS emulator regions', () => {
  it('a regional endpoint knows only its own keys and ciphertexts', async () => {
    const arn = await newKey();
    const enc = await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('x') }));
    const euKms = client(
      new KMSClient({
        endpoint: aws.url,
        region: 'eu-west-1',
        maxAttempts: 1,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    );
    expect((await errorOf(euKms.send(new DescribeKeyCommand({ KeyId: arn })))).name).toBe('NotFoundException');
    expect((await errorOf(euKms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).name).toBe(
      'InvalidCiphertextException',
    );
    const euKey = await euKms.send(new CreateKeyCommand({}));
    expect(euKey.KeyMetadata!.Arn).toMatch(/^arn:aws:kms:eu-west-1:000000000000:key\//);
  });
});
