import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListGrantsCommand,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { AwsEmulatorHarness, startAwsEmulator } from '../support/aws-emulator';
import { emulatorAdmin, EmulatorAdmin } from '../support/emulator-admin';

/**
 * The AWS emulator where it must be as unfriendly as AWS, through the official SDK. Each test names the behaviour
 * AWS documents (KMS Developer Guide: "Condition keys for AWS KMS", "Grants in AWS KMS", "Deleting AWS KMS keys",
 * "Importing key material", "Multi-Region keys"; IAM User Guide: "Condition operators", "NotPrincipal",
 * "NotAction"; AWS General Reference: "Signature Version 4").
 */
let aws: AwsEmulatorHarness;
let admin: EmulatorAdmin;
let kms: KMSClient;
const clients: Array<{ destroy(): void }> = [];
const track = <T extends { destroy(): void }>(c: T): T => (clients.push(c), c);

beforeAll(async () => {
  aws = await startAwsEmulator();
  admin = emulatorAdmin(aws.adminUrl);
  kms = aws.customerKms();
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await aws?.close();
});

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

let seq = 0;
/** A customer role the vendor user may assume, and a KMS client acting as that role's session. */
async function roleSession(region = aws.region): Promise<{ roleArn: string; kms: KMSClient }> {
  const name = `fidelity-${++seq}`;
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: aws.vendor.arn }, Action: 'sts:AssumeRole' }],
  };
  const roleArn = (
    await aws
      .customerIam()
      .send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }))
  ).Role!.Arn!;
  const client = track(
    new KMSClient({
      endpoint: aws.url,
      region,
      maxAttempts: 1,
      credentials: fromTemporaryCredentials({
        params: { RoleArn: roleArn, RoleSessionName: 'fidelity' },
        masterCredentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey },
        clientConfig: { endpoint: aws.url, region: aws.region, maxAttempts: 1 },
      }),
    }),
  );
  return { roleArn, kms: client };
}

const ROOT_STATEMENT = () => ({
  Sid: 'Root',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${aws.customerAccountId}:root` },
  Action: 'kms:*',
  Resource: '*',
});
const policy = (...statements: unknown[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [ROOT_STATEMENT(), ...statements] });
const newKey = async (p?: string, extra: Record<string, unknown> = {}) =>
  (await kms.send(new CreateKeyCommand({ Description: 'fidelity', ...(p ? { Policy: p } : {}), ...extra })))
    .KeyMetadata!;
const encrypt = (c: KMSClient, keyId: string, ctx?: Record<string, string>) =>
  c.send(
    new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kek'), ...(ctx ? { EncryptionContext: ctx } : {}) }),
  );

describe('condition keys of KMS requests', () => {
  it('kms:EncryptionContext:<key> scopes an Allow to requests carrying that pair; DescribeKey, which has no context, is not covered by it', async () => {
    const { roleArn, kms: asRole } = await roleSession();
    const key = await newKey(
      policy({
        Effect: 'Allow',
        Principal: { AWS: roleArn },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'],
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:keyhold:tenant': 't-1' } },
      }),
    );
    const ok = await encrypt(asRole, key.Arn!, { 'keyhold:tenant': 't-1', 'keyhold:workspace': 'w-1' });
    const back = await asRole.send(
      new DecryptCommand({
        KeyId: key.Arn!,
        CiphertextBlob: ok.CiphertextBlob,
        EncryptionContext: { 'keyhold:workspace': 'w-1', 'keyhold:tenant': 't-1' },
      }),
    );
    expect(Buffer.from(back.Plaintext!).toString()).toBe('kek');
    expect((await errorOf(encrypt(asRole, key.Arn!, { 'keyhold:tenant': 't-2' }))).name).toBe('AccessDeniedException');
    expect((await errorOf(encrypt(asRole, key.Arn!))).name).toBe('AccessDeniedException');
    expect(await errorOf(asRole.send(new DescribeKeyCommand({ KeyId: key.Arn! })))).toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it('kms:EncryptionContextKeys with ForAllValues/ForAnyValue tests the set of context keys', async () => {
    const { roleArn, kms: asRole } = await roleSession();
    const key = await newKey(
      policy(
        {
          Effect: 'Allow',
          Principal: { AWS: roleArn },
          Action: 'kms:Encrypt',
          Resource: '*',
          Condition: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'keyhold:tenant' } },
        },
        {
          Effect: 'Deny',
          Principal: { AWS: roleArn },
          Action: 'kms:Encrypt',
          Resource: '*',
          Condition: { 'ForAnyValue:StringNotLike': { 'kms:EncryptionContextKeys': 'keyhold:*' } },
        },
      ),
    );
    await encrypt(asRole, key.Arn!, { 'keyhold:tenant': 't' });
    expect((await errorOf(encrypt(asRole, key.Arn!, { 'keyhold:tenant': 't', other: 'x' }))).message).toContain(
      'explicit deny in a resource-based policy',
    );
    expect((await errorOf(encrypt(asRole, key.Arn!, { 'keyhold:workspace': 'w' }))).name).toBe('AccessDeniedException');
  });

  it('kms:ViaService is absent on direct calls: an Allow requiring it refuses, a Deny unless it matches applies; kms:CallerAccount is the caller account', async () => {
    const { roleArn, kms: asRole } = await roleSession();
    const via = await newKey(
      policy({
        Effect: 'Allow',
        Principal: { AWS: roleArn },
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': `s3.${aws.region}.amazonaws.com` } },
      }),
    );
    expect((await errorOf(encrypt(asRole, via.Arn!))).name).toBe('AccessDeniedException');
    const denyDirect = await newKey(
      policy(
        { Effect: 'Allow', Principal: { AWS: roleArn }, Action: 'kms:Encrypt', Resource: '*' },
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:Encrypt',
          Resource: '*',
          Condition: { StringNotEquals: { 'kms:ViaService': `s3.${aws.region}.amazonaws.com` } },
        },
      ),
    );
    expect((await errorOf(encrypt(asRole, denyDirect.Arn!))).message).toContain('explicit deny');
    const byAccount = await newKey(
      policy({
        Effect: 'Allow',
        Principal: '*',
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:CallerAccount': aws.customerAccountId } },
      }),
    );
    await encrypt(asRole, byAccount.Arn!);
  });

  it('Bool aws:SecureTransport, Null, IpAddress aws:SourceIp and DateLessThan aws:CurrentTime are evaluated', async () => {
    const { roleArn, kms: asRole } = await roleSession();
    const allow = (Condition: unknown) =>
      policy({ Effect: 'Allow', Principal: { AWS: roleArn }, Action: 'kms:Encrypt', Resource: '*', Condition });
    await encrypt(
      asRole,
      (await newKey(allow({ Bool: { 'aws:SecureTransport': 'true' }, IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } })))
        .Arn!,
    );
    expect(
      (await errorOf(encrypt(asRole, (await newKey(allow({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }))).Arn!)))
        .name,
    ).toBe('AccessDeniedException');
    expect(
      (await errorOf(encrypt(asRole, (await newKey(allow({ Null: { 'kms:EncryptionContextKeys': 'false' } }))).Arn!)))
        .name,
    ).toBe('AccessDeniedException');
    expect(
      (
        await errorOf(
          encrypt(asRole, (await newKey(allow({ DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }))).Arn!),
        )
      ).name,
    ).toBe('AccessDeniedException');
  });
});

describe('policy grammar', () => {
  it('an unknown condition operator is refused at PutKeyPolicy and CreateKey with MalformedPolicyDocumentException, never evaluated to false', async () => {
    const key = await newKey();
    const bad = policy({
      Effect: 'Deny',
      Principal: '*',
      Action: 'kms:*',
      Resource: '*',
      Condition: { ArnNotLikeIfMissing: { 'aws:PrincipalArn': 'x' } },
    });
    const put = await errorOf(
      kms.send(new PutKeyPolicyCommand({ KeyId: key.Arn!, PolicyName: 'default', Policy: bad })),
    );
    expect(put.name).toBe('MalformedPolicyDocumentException');
    expect(put.message).toContain('ArnNotLikeIfMissing');
    expect((await errorOf(kms.send(new CreateKeyCommand({ Policy: bad })))).name).toBe(
      'MalformedPolicyDocumentException',
    );
  });

  it('a Deny with ArnNotLike on aws:PrincipalArn refuses every principal it does not exempt', async () => {
    const { roleArn, kms: asRole } = await roleSession();
    const key = await newKey(
      policy(
        { Effect: 'Allow', Principal: { AWS: roleArn }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'kms:*',
          Resource: '*',
          Condition: {
            ArnNotLike: {
              'aws:PrincipalArn': [
                `arn:aws:iam::${aws.customerAccountId}:root`,
                `arn:aws:iam::${aws.customerAccountId}:role/admins/*`,
              ],
            },
          },
        },
      ),
    );
    const err = await errorOf(encrypt(asRole, key.Arn!));
    expect(err.message).toContain('with an explicit deny in a resource-based policy');
    await encrypt(kms, key.Arn!);
  });

  it('NotPrincipal with Deny refuses everyone but the session, role and account it names; NotAction covers every other action', async () => {
    const a = await roleSession();
    const b = await roleSession();
    const sessionArn = (arn: string) =>
      arn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/') + '/fidelity';
    const key = await newKey(
      policy(
        { Effect: 'Allow', Principal: { AWS: [a.roleArn, b.roleArn] }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Deny',
          NotPrincipal: { AWS: [sessionArn(a.roleArn), a.roleArn, `arn:aws:iam::${aws.customerAccountId}:root`] },
          NotAction: 'kms:DescribeKey',
          Resource: '*',
        },
      ),
    );
    await encrypt(a.kms, key.Arn!);
    expect((await errorOf(encrypt(b.kms, key.Arn!))).message).toContain('explicit deny');
    await b.kms.send(new DescribeKeyCommand({ KeyId: key.Arn! }));
  });
});

describe('grants', () => {
  it('a grant allows its grantee the listed operations under its encryption-context constraint; RevokeGrant removes the access', async () => {
    const { roleArn, kms: asRole } = await roleSession();
    const key = await newKey(); // default policy: the account root only
    expect((await errorOf(encrypt(asRole, key.Arn!, { 'keyhold:tenant': 't-1' }))).name).toBe('AccessDeniedException');
    const g = await kms.send(
      new CreateGrantCommand({
        KeyId: key.Arn!,
        GranteePrincipal: roleArn,
        Operations: ['Encrypt', 'Decrypt', 'DescribeKey'],
        Constraints: { EncryptionContextSubset: { 'keyhold:tenant': 't-1' } },
      }),
    );
    const ct = await encrypt(asRole, key.Arn!, { 'keyhold:tenant': 't-1', 'keyhold:workspace': 'w' });
    await asRole.send(
      new DecryptCommand({
        KeyId: key.Arn!,
        CiphertextBlob: ct.CiphertextBlob,
        EncryptionContext: { 'keyhold:tenant': 't-1', 'keyhold:workspace': 'w' },
      }),
    );
    // The constraint applies to cryptographic operations only; DescribeKey carries no context and is allowed.
    await asRole.send(new DescribeKeyCommand({ KeyId: key.Arn! }));
    expect((await errorOf(encrypt(asRole, key.Arn!, { 'keyhold:tenant': 't-2' }))).name).toBe('AccessDeniedException');
    expect(
      (await errorOf(asRole.send(new ScheduleKeyDeletionCommand({ KeyId: key.Arn!, PendingWindowInDays: 7 })))).name,
    ).toBe('AccessDeniedException');

    const listed = await kms.send(new ListGrantsCommand({ KeyId: key.Arn! }));
    expect(listed.Grants).toEqual([
      expect.objectContaining({
        GrantId: g.GrantId,
        GranteePrincipal: roleArn,
        Operations: ['Encrypt', 'Decrypt', 'DescribeKey'],
        Constraints: { EncryptionContextSubset: { 'keyhold:tenant': 't-1' } },
      }),
    ]);
    await kms.send(new RevokeGrantCommand({ KeyId: key.Arn!, GrantId: g.GrantId! }));
    expect((await errorOf(asRole.send(new DescribeKeyCommand({ KeyId: key.Arn! })))).name).toBe(
      'AccessDeniedException',
    );
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.Arn! }))).Grants).toEqual([]);
    expect((await errorOf(kms.send(new RevokeGrantCommand({ KeyId: key.Arn!, GrantId: g.GrantId! })))).name).toBe(
      'NotFoundException',
    );
  });

  it('RetireGrant by token for the retiring principal; EncryptionContextEquals needs the exact context; an explicit Deny beats a grant', async () => {
    const { roleArn, kms: asRole } = await roleSession();
    const key = await newKey(
      policy({ Effect: 'Deny', Principal: { AWS: roleArn }, Action: 'kms:Decrypt', Resource: '*' }),
    );
    const g = await kms.send(
      new CreateGrantCommand({
        KeyId: key.Arn!,
        GranteePrincipal: roleArn,
        RetiringPrincipal: roleArn,
        Operations: ['Encrypt', 'Decrypt'],
        Constraints: { EncryptionContextEquals: { a: '1' } },
      }),
    );
    const ct = await encrypt(asRole, key.Arn!, { A: '1' }); // grant constraint keys are case-insensitive
    expect((await errorOf(encrypt(asRole, key.Arn!, { a: '1', b: '2' }))).name).toBe('AccessDeniedException');
    expect(
      (
        await errorOf(
          asRole.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob, EncryptionContext: { A: '1' } })),
        )
      ).message,
    ).toContain('explicit deny');
    await asRole.send(new RetireGrantCommand({ GrantToken: g.GrantToken! }));
    expect((await errorOf(encrypt(asRole, key.Arn!, { a: '1' }))).name).toBe('AccessDeniedException');
  });
});

describe('end states', () => {
  it('deletion completes (admin route) and afterwards DescribeKey and Decrypt of its ciphertext answer NotFoundException', async () => {
    const key = await newKey();
    const ct = await encrypt(kms, key.Arn!, { c: '1' });
    expect((await admin('POST', `/aws/keys/${encodeURIComponent(key.Arn!)}/complete-deletion`)).status).toBe(409);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.Arn!, PendingWindowInDays: 7 }));
    expect(
      (
        await errorOf(
          kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob, EncryptionContext: { c: '1' } })),
        )
      ).name,
    ).toBe('KMSInvalidStateException');
    expect((await admin('POST', `/aws/keys/${encodeURIComponent(key.Arn!)}/complete-deletion`)).status).toBe(200);
    expect((await errorOf(kms.send(new DescribeKeyCommand({ KeyId: key.Arn! })))).name).toBe('NotFoundException');
    for (const withKeyId of [true, false]) {
      const err = await errorOf(
        kms.send(
          new DecryptCommand({
            CiphertextBlob: ct.CiphertextBlob,
            EncryptionContext: { c: '1' },
            ...(withKeyId ? { KeyId: key.Arn! } : {}),
          }),
        ),
      );
      expect(err.name).toBe('NotFoundException');
    }
  });

  it('Origin EXTERNAL: PendingImport until material is imported; when it expires (ValidTo) the key is PendingImport and Decrypt is KMSInvalidStateException; only the same material re-imports', async () => {
    const key = await newKey(undefined, { Origin: 'EXTERNAL' });
    expect(key).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport', Enabled: false });
    expect((await errorOf(encrypt(kms, key.Arn!))).name).toBe('KMSInvalidStateException');
    const material = randomBytes(32);
    const importWith = async (m: Buffer, validTo?: Date) => {
      const params = await kms.send(
        new GetParametersForImportCommand({
          KeyId: key.Arn!,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          WrappingKeySpec: 'RSA_2048',
        }),
      );
      const wrapped = publicEncrypt(
        {
          key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }),
          padding: constants.RSA_PKCS1_OAEP_PADDING,
          oaepHash: 'sha256',
        },
        m,
      );
      return kms.send(
        new ImportKeyMaterialCommand({
          KeyId: key.Arn!,
          ImportToken: params.ImportToken,
          EncryptedKeyMaterial: wrapped,
          ...(validTo
            ? { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo }
            : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
        }),
      );
    };
    await importWith(material, new Date(Date.now() + 3600_000));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.Arn! }))).KeyMetadata).toMatchObject({
      KeyState: 'Enabled',
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
    });
    const ct = await encrypt(kms, key.Arn!);

    expect((await admin('POST', `/aws/keys/${encodeURIComponent(key.Arn!)}/expire-key-material`)).status).toBe(200);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.Arn! }))).KeyMetadata!.KeyState).toBe('PendingImport');
    const err = await errorOf(kms.send(new DecryptCommand({ KeyId: key.Arn!, CiphertextBlob: ct.CiphertextBlob })));
    expect(err.name).toBe('KMSInvalidStateException');
    expect(err.message).toContain('pending import');

    expect((await errorOf(importWith(randomBytes(32)))).name).toBe('IncorrectKeyMaterialException');
    await importWith(material);
    expect(
      Buffer.from(
        (await kms.send(new DecryptCommand({ KeyId: key.Arn!, CiphertextBlob: ct.CiphertextBlob }))).Plaintext!,
      ).toString(),
    ).toBe('kek');

    // ValidTo passing on its own has the same effect; so does DeleteImportedKeyMaterial.
    await importWith(material, new Date(Date.now() + 1500));
    await new Promise((r) => setTimeout(r, 2000));
    expect((await errorOf(encrypt(kms, key.Arn!))).message).toContain('pending import');
    await importWith(material);
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.Arn! }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.Arn! }))).KeyMetadata!.KeyState).toBe('PendingImport');
  });

  it('multi-Region keys: a replica shares the key id and material, decrypts the primary ciphertext, and keeps its own key state', async () => {
    const primary = await newKey(undefined, { MultiRegion: true });
    expect(primary.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(primary).toMatchObject({ MultiRegion: true, MultiRegionConfiguration: { MultiRegionKeyType: 'PRIMARY' } });
    const rep = await kms.send(new ReplicateKeyCommand({ KeyId: primary.Arn!, ReplicaRegion: 'eu-west-1' }));
    const replicaArn = rep.ReplicaKeyMetadata!.Arn!;
    expect(replicaArn).toBe(primary.Arn!.replace(`:${aws.region}:`, ':eu-west-1:'));
    expect(rep.ReplicaKeyMetadata).toMatchObject({
      KeyId: primary.KeyId,
      MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA', PrimaryKey: { Arn: primary.Arn } },
    });
    const eu = track(
      new KMSClient({
        endpoint: aws.url,
        region: 'eu-west-1',
        maxAttempts: 1,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    );

    const ct = await encrypt(kms, primary.Arn!, { r: 'x' });
    const out = await eu.send(
      new DecryptCommand({ KeyId: replicaArn, CiphertextBlob: ct.CiphertextBlob, EncryptionContext: { r: 'x' } }),
    );
    expect(Buffer.from(out.Plaintext!).toString()).toBe('kek');
    expect(out.KeyId).toBe(replicaArn);
    // A regional endpoint knows only its own region's keys.
    expect((await errorOf(eu.send(new DescribeKeyCommand({ KeyId: primary.Arn! })))).name).toBe('NotFoundException');

    await kms.send(new DisableKeyCommand({ KeyId: primary.Arn! }));
    expect((await errorOf(encrypt(kms, primary.Arn!))).name).toBe('DisabledException');
    await eu.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob, EncryptionContext: { r: 'x' } }));
    expect(
      (await errorOf(kms.send(new ReplicateKeyCommand({ KeyId: primary.Arn!, ReplicaRegion: 'eu-west-1' })))).name,
    ).toBe('AlreadyExistsException');
  });
});

describe('SigV4 request time', () => {
  it('a request signed more than 5 minutes off the server clock is refused: KMS InvalidSignatureException, STS SignatureDoesNotMatch, "Signature expired"', async () => {
    const skewed = {
      endpoint: aws.url,
      region: aws.region,
      maxAttempts: 1,
      systemClockOffset: -6 * 60_000,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    const k = await errorOf(
      track(new KMSClient(skewed)).send(new DescribeKeyCommand({ KeyId: (await newKey()).Arn! })),
    );
    expect(k.name).toBe('InvalidSignatureException');
    expect(k.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    const s = await errorOf(track(new STSClient(skewed)).send(new GetCallerIdentityCommand({})));
    expect(s.name).toBe('SignatureDoesNotMatch');
    expect(s.$metadata?.httpStatusCode).toBe(403);
    // 4 minutes off is inside the window.
    await track(new STSClient({ ...skewed, systemClockOffset: -4 * 60_000 })).send(new GetCallerIdentityCommand({}));
  });
});
