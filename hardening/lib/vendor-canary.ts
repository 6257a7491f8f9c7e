import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AWS_EMULATOR_DEFAULTS as d } from '../../apps/kms-emulator/src/aws';

/**
 * The vendor's own AWS canary, set up with the vendor's credentials in the vendor's account (what its ops team does
 * once): a key and a role the vendor user assumes with an ExternalId, exactly the path a customer's key is reached by.
 * Returns the worker environment that names it. The SDK clients are handed to `clients` for the caller to destroy.
 */
export async function createAwsVendorCanary(
  awsUrl: string,
  clients: Array<{ destroy(): void }>,
): Promise<Record<string, string>> {
  const common = {
    endpoint: awsUrl,
    region: d.region,
    maxAttempts: 1,
    credentials: { accessKeyId: d.vendorAccessKeyId, secretAccessKey: d.vendorSecretAccessKey },
  };
  const iam = new IAMClient(common);
  const kms = new KMSClient(common);
  clients.push(iam, kms);
  const externalId = randomBytes(24).toString('base64url');
  const roleName = `keyhold-canary-${randomBytes(3).toString('hex')}`;
  const trust = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${d.vendorAccountId}:user/${d.vendorUserName}` },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      },
    ],
  };
  const roleArn = (
    await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(trust) }))
  ).Role!.Arn!;
  const keyArn = (await kms.send(new CreateKeyCommand({ Description: 'keyhold vendor canary' }))).KeyMetadata!.Arn!;
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: roleName,
      PolicyName: 'canary',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey'], Resource: keyArn }],
      }),
    }),
  );
  return {
    KEYHOLD_AWS_CANARY_KEY_ARN: keyArn,
    KEYHOLD_AWS_CANARY_ROLE_ARN: roleArn,
    KEYHOLD_AWS_CANARY_EXTERNAL_ID: externalId,
  };
}
