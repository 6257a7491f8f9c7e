import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { AWS_CUSTOMER_ROOT_CREDENTIALS, AWS_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/aws';

/**
 * The customer's side of AWS BYOK, done with the official SDK as the emulator's customer root: a role that trusts
 * the vendor only with the tenant's ExternalId, and a symmetric key the role may use.
 */
export class CustomerAws {
  readonly kms: KMSClient;
  readonly iam: IAMClient;
  readonly accountId = AWS_EMULATOR_DEFAULTS.customerAccountId;

  constructor(endpoint: string) {
    const common = () => ({ endpoint, region: AWS_EMULATOR_DEFAULTS.region, credentials: { ...AWS_CUSTOMER_ROOT_CREDENTIALS }, maxAttempts: 1 });
    this.kms = new KMSClient(common());
    this.iam = new IAMClient(common());
  }

  async createRole(name: string, vendorPrincipalArn: string, externalId: string): Promise<string> {
    const trust = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: vendorPrincipalArn }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': externalId } } }],
    };
    const out = await this.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    if (!out.Role?.Arn) throw new Error(`CreateRole ${name} returned no ARN`);
    return out.Role.Arn;
  }

  async createKey(roleArn: string, roleName: string): Promise<string> {
    const actions = ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:ListKeyRotations'];
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${this.accountId}:root` }, Action: 'kms:*', Resource: '*' },
        { Sid: 'keyhold', Effect: 'Allow', Principal: { AWS: roleArn }, Action: actions, Resource: '*' },
      ],
    };
    const out = await this.kms.send(new CreateKeyCommand({ KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT', Policy: JSON.stringify(policy) }));
    const arn = out.KeyMetadata?.Arn;
    if (!arn) throw new Error('CreateKey returned no ARN');
    await this.iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: `keyhold-${out.KeyMetadata!.KeyId}`,
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: arn }] }),
      }),
    );
    return arn;
  }

  close(): void {
    this.kms.destroy();
    this.iam.destroy();
  }
}
