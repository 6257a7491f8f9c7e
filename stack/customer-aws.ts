import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { AWS_CUSTOMER_ROOT_CREDENTIALS, AWS_EMULATOR_DEFAULTS } from '../apps/kms-emulator/src/aws';

/**
 * The customer's side of AWS BYOK, done with the official SDK as the emulator's customer root, as the wizard tells
 * the customer to. One attempt per call: a precondition that fails should fail fast and say why.
 */
export class CustomerAws {
  readonly kms: KMSClient;
  readonly iam: IAMClient;
  readonly accountId = AWS_EMULATOR_DEFAULTS.customerAccountId;

  constructor(endpoint: string) {
    // The SDK tags the credentials object it is given: each client gets its own copy, never the frozen constant.
    const common = () => ({
      endpoint,
      region: AWS_EMULATOR_DEFAULTS.region,
      credentials: { ...AWS_CUSTOMER_ROOT_CREDENTIALS },
      maxAttempts: 1,
    });
    this.kms = new KMSClient(common());
    this.iam = new IAMClient(common());
  }

  /** A role trusting the vendor principal, only with the tenant's ExternalId when one is given (the confused-deputy guard). */
  async createRole(name: string, vendorPrincipalArn: string, externalId: string | null): Promise<string> {
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: vendorPrincipalArn },
          Action: 'sts:AssumeRole',
          ...(externalId ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
        },
      ],
    };
    const out = await this.iam.send(
      new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }),
    );
    if (!out.Role?.Arn) throw new Error(`CreateRole ${name} returned no ARN`);
    return out.Role.Arn;
  }

  /**
   * A key the role may use (key policy and identity policy saying the same), or one of another usage, or one the
   * role is not granted. `extraActions` adds to Encrypt/Decrypt/DescribeKey/ListKeyRotations (e.g. kms:ReEncrypt*).
   */
  async createKey(
    roleArn: string,
    roleName: string,
    opts: {
      usage?: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY';
      grant?: boolean;
      description?: string;
      extraActions?: string[];
    } = {},
  ): Promise<string> {
    const actions = [
      'kms:Encrypt',
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:ListKeyRotations',
      ...(opts.extraActions ?? []),
    ];
    const statements: object[] = [
      {
        Sid: 'root',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${this.accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ];
    if (opts.grant !== false)
      statements.push({ Sid: 'keyhold', Effect: 'Allow', Principal: { AWS: roleArn }, Action: actions, Resource: '*' });
    const sign = opts.usage === 'SIGN_VERIFY';
    const out = await this.kms.send(
      new CreateKeyCommand({
        Description: opts.description,
        KeyUsage: sign ? 'SIGN_VERIFY' : 'ENCRYPT_DECRYPT',
        KeySpec: sign ? 'RSA_2048' : 'SYMMETRIC_DEFAULT',
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      }),
    );
    const arn = out.KeyMetadata?.Arn;
    if (!arn) throw new Error('CreateKey returned no ARN');
    if (opts.grant !== false)
      await this.iam.send(
        new PutRolePolicyCommand({
          RoleName: roleName,
          PolicyName: `keyhold-${out.KeyMetadata!.KeyId}`,
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: actions, Resource: arn }],
          }),
        }),
      );
    return arn;
  }

  /**
   * Latency of one direct KMS Decrypt from a warm SDK client, per sample: what the emulator and the SDK cost on
   * their own (the benchmark's smallest possible KMS round trip).
   */
  async directDecryptMs(keyArn: string, samples: number): Promise<number[]> {
    const context = { purpose: 'bench-baseline' };
    const enc = await this.kms.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: randomBytes(32), EncryptionContext: context }),
    );
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now();
      await this.kms.send(
        new DecryptCommand({ KeyId: keyArn, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }),
      );
      out.push(performance.now() - t0);
    }
    return out;
  }

  /** The customer revokes: the key is disabled. */
  async disableKey(keyArn: string): Promise<void> {
    await this.kms.send(new DisableKeyCommand({ KeyId: keyArn }));
  }

  close(): void {
    this.kms.destroy();
    this.iam.destroy();
  }
}
