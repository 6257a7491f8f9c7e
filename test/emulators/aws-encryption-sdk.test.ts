import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { buildClient, CommitmentPolicy, getClient, KMS, KmsKeyringNode } from '@aws-crypto/client-node';
import { AwsEmulatorHarness, startAwsEmulator } from '../support/aws-emulator';

/**
 * The AWS Encryption SDK is an independent, demanding KMS client: its keyring calls GenerateDataKey on
 * encrypt and Decrypt (with KeyId) on decrypt, and checks the key ARN KMS reports. It must work unchanged.
 */
let aws: AwsEmulatorHarness;
beforeAll(async () => {
  aws = await startAwsEmulator();
});
afterAll(() => aws.close());

function keyring(keyArn: string, credentials = { accessKeyId: 'test', secretAccessKey: 'test' }): KmsKeyringNode {
  const clientProvider = getClient(KMS, { endpoint: aws.url, credentials, maxAttempts: 1 });
  return new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider });
}

describe('AWS Encryption SDK through the emulator', () => {
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

  it('encrypts and decrypts a message with a KMS keyring', async () => {
    const key = await aws.customerKms().send(new CreateKeyCommand({}));
    const arn = key.KeyMetadata!.Arn!;
    const context = { tenant: 't-1', purpose: 'esdk-test' };
    const { result } = await encrypt(keyring(arn), Buffer.from('hello through the emulator'), {
      encryptionContext: context,
    });
    expect(result.includes(Buffer.from('hello'))).toBe(false);
    const { plaintext, messageHeader } = await decrypt(keyring(arn), result);
    expect(plaintext.toString()).toBe('hello through the emulator');
    expect(messageHeader.encryptionContext).toMatchObject(context);
    expect(messageHeader.encryptedDataKeys[0].providerInfo).toBe(arn);
    expect(aws.counters.total({ operation: 'GenerateDataKey', outcome: 'ok' })).toBe(1);
    expect(aws.counters.total({ operation: 'Decrypt', outcome: 'ok' })).toBe(1);
  });

  it('fails to decrypt when the data key cannot be decrypted by the caller', async () => {
    const key = await aws.customerKms().send(new CreateKeyCommand({}));
    const arn = key.KeyMetadata!.Arn!;
    const { result } = await encrypt(keyring(arn), Buffer.from('secret'));
    // The vendor user is in another account and the default key policy does not name it.
    const vendor = { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey };
    await expect(decrypt(keyring(arn, vendor), result)).rejects.toThrow(/unencryptedDataKey|decrypt/i);
    expect(aws.counters.total({ operation: 'Decrypt', outcome: 'AccessDeniedException' })).toBe(1);
  });
});
