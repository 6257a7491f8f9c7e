import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { AwsEmulatorHarness, startAwsEmulator } from '../support/aws-emulator';
import { emulatorAdmin, EmulatorAdmin } from '../support/emulator-admin';

/**
 * The vendor's own side of AWS, through the official SDK: what Keyhold's vendor identity meets when the vendor's
 * security team (or an organization guardrail) changes it. Each case names what AWS documents:
 *  - an explicit Deny in an identity-based policy or a service control policy beats any Allow (IAM user guide,
 *    "Policy evaluation logic"); the AccessDenied message says "with an explicit deny in <policy type>" (IAM user
 *    guide, "Troubleshooting access denied error messages"); STS answers it as HTTP 403 `AccessDenied`, KMS as
 *    `AccessDeniedException`;
 *  - an access key made Inactive (IAM UpdateAccessKey) authenticates nothing: STS `InvalidClientTokenId` (403),
 *    KMS `UnrecognizedClientException` — the answers for a key id AWS does not know;
 *  - expired credentials: STS `ExpiredToken`, KMS `ExpiredTokenException`.
 */
let aws: AwsEmulatorHarness;
let admin: EmulatorAdmin;
const clients: Array<{ destroy(): void }> = [];
const track = <T extends { destroy(): void }>(c: T): T => (clients.push(c), c);

beforeAll(async () => {
  aws = await startAwsEmulator();
  admin = emulatorAdmin(aws.adminUrl);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await aws?.close();
});

const vendorCreds = () => ({ accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey });
const vendorSts = () =>
  track(new STSClient({ endpoint: aws.url, region: aws.region, maxAttempts: 1, credentials: vendorCreds() }));
const vendorKms = () =>
  track(new KMSClient({ endpoint: aws.url, region: aws.region, maxAttempts: 1, credentials: vendorCreds() }));

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

let seq = 0;
/** A customer role the vendor user may assume, and a customer key that role may use. */
async function customerRoleAndKey(): Promise<{ roleArn: string; keyArn: string }> {
  const name = `vendor-side-${++seq}`;
  const iam = aws.customerIam();
  const trust = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: aws.vendor.arn }, Action: 'sts:AssumeRole' }],
  };
  const roleArn = (
    await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }))
  ).Role!.Arn!;
  const keyArn = (await aws.customerKms().send(new CreateKeyCommand({ Description: name }))).KeyMetadata!.Arn!;
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: name,
      PolicyName: 'kms',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: keyArn }],
      }),
    }),
  );
  return { roleArn, keyArn };
}

const DENY_ASSUME = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'sts:AssumeRole', Resource: '*' }] };
const DENY_KMS = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:*', Resource: '*' }] };

it('an identity-policy Deny on sts:AssumeRole refuses the vendor user with 403 AccessDenied, naming the policy type; removing it restores', async () => {
  const { roleArn } = await customerRoleAndKey();
  const sts = vendorSts();
  await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'before' }));
  expect(
    (await admin('PUT', `/aws/principals/${aws.vendor.accessKeyId}/policies/deny-assume`, { policy: DENY_ASSUME }))
      .status,
  ).toBe(200);
  const err = await errorOf(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'during' })));
  expect(err.name).toBe('AccessDenied');
  expect(err.$metadata?.httpStatusCode).toBe(403);
  expect(err.message).toBe(
    `User: ${aws.vendor.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn} with an explicit deny in an identity-based policy`,
  );
  // Authentication still works: only authorization changed.
  expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(aws.vendor.arn);
  expect((await admin('DELETE', `/aws/principals/${aws.vendor.accessKeyId}/policies/deny-assume`)).status).toBe(204);
  await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'after' }));
});

it("a service control policy on the vendor account denies AssumeRole and the vendor account's own KMS calls", async () => {
  const { roleArn } = await customerRoleAndKey();
  // A key in the vendor's own account, used directly by the vendor user (a canary's shape).
  const ownKey = (await vendorKms().send(new CreateKeyCommand({ Description: 'vendor canary' }))).KeyMetadata!.Arn!;
  await vendorKms().send(new EncryptCommand({ KeyId: ownKey, Plaintext: Buffer.from('x') }));
  expect((await admin('PUT', `/aws/accounts/${aws.vendor.accountId}/scps/deny-kms`, { policy: DENY_KMS })).status).toBe(
    200,
  );
  expect(
    (await admin('PUT', `/aws/accounts/${aws.vendor.accountId}/scps/deny-assume`, { policy: DENY_ASSUME })).status,
  ).toBe(200);
  try {
    const kmsErr = await errorOf(vendorKms().send(new EncryptCommand({ KeyId: ownKey, Plaintext: Buffer.from('x') })));
    expect(kmsErr.name).toBe('AccessDeniedException');
    expect(kmsErr.message).toMatch(/with an explicit deny in a service control policy$/);
    const stsErr = await errorOf(vendorSts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'scp' })));
    expect(stsErr.name).toBe('AccessDenied');
    expect(stsErr.message).toMatch(/with an explicit deny in a service control policy$/);
  } finally {
    await admin('DELETE', `/aws/accounts/${aws.vendor.accountId}/scps/deny-kms`);
    await admin('DELETE', `/aws/accounts/${aws.vendor.accountId}/scps/deny-assume`);
  }
  // Detached: the vendor's own key answers again.
  await vendorKms().send(new EncryptCommand({ KeyId: ownKey, Plaintext: Buffer.from('x') }));
});

it("a customer role session is not affected by the vendor account's SCP (the session belongs to the customer account)", async () => {
  const { roleArn, keyArn } = await customerRoleAndKey();
  const kms = track(
    new KMSClient({
      endpoint: aws.url,
      region: aws.region,
      maxAttempts: 1,
      credentials: fromTemporaryCredentials({
        params: { RoleArn: roleArn, RoleSessionName: 'customer-session' },
        masterCredentials: vendorCreds(),
        clientConfig: { endpoint: aws.url, region: aws.region, maxAttempts: 1 },
      }),
    }),
  );
  await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') })); // session obtained first
  expect((await admin('PUT', `/aws/accounts/${aws.vendor.accountId}/scps/deny-kms`, { policy: DENY_KMS })).status).toBe(
    200,
  );
  try {
    await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('y') }));
  } finally {
    await admin('DELETE', `/aws/accounts/${aws.vendor.accountId}/scps/deny-kms`);
  }
});

it('an Inactive vendor access key: STS InvalidClientTokenId (403), KMS UnrecognizedClientException; Expired: ExpiredToken', async () => {
  const { roleArn } = await customerRoleAndKey();
  const status = (s: string) => admin('PUT', `/aws/principals/${aws.vendor.accessKeyId}/status`, { status: s });
  expect((await status('Inactive')).status).toBe(200);
  try {
    const sts = await errorOf(
      vendorSts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'inactive' })),
    );
    expect(sts.name).toBe('InvalidClientTokenId');
    expect(sts.$metadata?.httpStatusCode).toBe(403);
    expect(sts.message).toBe('The security token included in the request is invalid.');
    const kms = await errorOf(vendorKms().send(new CreateKeyCommand({})));
    expect(kms.name).toBe('UnrecognizedClientException');
    expect((await status('Expired')).status).toBe(200);
    const expired = await errorOf(vendorSts().send(new GetCallerIdentityCommand({})));
    expect(expired.name).toBe('ExpiredToken');
    expect((await errorOf(vendorKms().send(new CreateKeyCommand({})))).name).toBe('ExpiredTokenException');
  } finally {
    expect((await status('Active')).status).toBe(200);
  }
  await vendorSts().send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'active-again' }));
});

it('refuses malformed admin input with 400 and unknown principals with 404', async () => {
  expect((await admin('PUT', `/aws/principals/${aws.vendor.accessKeyId}/status`, { status: 'Deleted' })).status).toBe(
    400,
  );
  expect((await admin('PUT', `/aws/principals/AKIANOSUCHKEY0000000/status`, { status: 'Inactive' })).status).toBe(404);
  expect(
    (await admin('PUT', `/aws/principals/${aws.vendor.accessKeyId}/policies/p`, { policy: { Statement: 'nope' } }))
      .status,
  ).toBe(400);
  expect((await admin('PUT', `/aws/accounts/${aws.vendor.accountId}/scps/p`, {})).status).toBe(400);
  expect((await admin('DELETE', `/aws/accounts/${aws.vendor.accountId}/scps/never-attached`)).status).toBe(404);
});
