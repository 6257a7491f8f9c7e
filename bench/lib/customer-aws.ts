import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';

/**
 * The customer's side of a BYOK setup in the AWS emulator, done the way a customer would: with the official SDK as
 * the root of the emulator's default customer account (access key test/test, account 000000000000).
 * One attempt per call: a benchmark precondition that fails should fail fast and say why.
 */
export const CUSTOMER_ACCOUNT = '000000000000';
const REGION = 'us-east-1';

export class CustomerAws {
  private readonly kms: KMSClient;
  private readonly iam: IAMClient;

  constructor(endpoint: string) {
    const common = { endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
    this.kms = new KMSClient(common);
    this.iam = new IAMClient(common);
  }

  /** A role the vendor may assume only with the tenant's ExternalId (the confused-deputy guard). */
  async createVendorRole(roleName: string, vendorPrincipalArn: string, externalId: string): Promise<string> {
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: vendorPrincipalArn },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': externalId } },
        },
      ],
    };
    const out = await this.iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    const arn = out.Role?.Arn;
    if (!arn) throw new Error(`CreateRole ${roleName} returned no role ARN`);
    return arn;
  }

  /** A symmetric CMK whose key policy lets the role wrap/unwrap, plus an identity policy saying the same. */
  async createKeyFor(roleArn: string, roleName: string, description: string): Promise<string> {
    const actions = ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:ListKeyRotations', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${CUSTOMER_ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        { Sid: 'keyhold', Effect: 'Allow', Principal: { AWS: roleArn }, Action: actions, Resource: '*' },
      ],
    };
    const out = await this.kms.send(
      new CreateKeyCommand({ Description: description, KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT', Policy: JSON.stringify(policy) }),
    );
    const arn = out.KeyMetadata?.Arn;
    if (!arn) throw new Error('CreateKey returned no key ARN');
    await this.iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: `keyhold-${out.KeyMetadata!.KeyId}`,
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: arn }] }),
      }),
    );
    return arn;
  }

  /**
   * Latency of one direct KMS Decrypt from a warm SDK client, per sample: what the emulator and the SDK cost on
   * their own, so the cold-fetch ratio can be read against the smallest possible KMS round trip.
   */
  async directDecryptMs(keyArn: string, samples: number): Promise<number[]> {
    const context = { purpose: 'bench-baseline' };
    const enc = await this.kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: randomBytes(32), EncryptionContext: context }));
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await this.kms.send(new DecryptCommand({ KeyId: keyArn, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }));
      out.push(performance.now() - t0);
    }
    return out;
  }

  /** The customer revokes: the key is disabled (a definitive, revocation-class failure for Keyhold's probes). */
  async disableKey(keyArn: string): Promise<void> {
    await this.kms.send(new DisableKeyCommand({ KeyId: keyArn }));
  }

  close(): void {
    this.kms.destroy();
    this.iam.destroy();
  }
}
