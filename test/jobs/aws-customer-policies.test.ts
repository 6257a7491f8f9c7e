import {
  CreateGrantCommand,
  PutKeyPolicyCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { OperationKind } from '@app/jobs';
import { keyPolicyStatementDocument } from '@app/provider-aws';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { arnNotLikeDeny, tenantScopedStatements } from '../support/aws-customer-policies';
import { emulatorAdmin } from '../support/emulator-admin';
import { AwsTenant, JobsHarness, startJobsHarness } from './harness';
import { checkUntilDone, expectShredded } from './assertions';

/**
 * The revocation decision on customer key policies AWS evaluates and the old emulator did not (docs/EMULATORS.md,
 * "AWS fidelity"): an Allow scoped by encryption context is not a revocation, while a grant revoked, an ArnNotLike
 * Deny and a deletion that completed are, and each is shredded only through the usual confirmation rules.
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({ probeConfirmationWindowSeconds: 2, probeConfirmations: 3 });
  worker = await startTestWorker(h.config, { settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2 } });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

const root = () => ({
  Sid: 'Root',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${h.aws.customerAccountId}:root` },
  Action: 'kms:*',
  Resource: '*',
});
const putPolicy = (t: AwsTenant, ...statements: unknown[]) =>
  h.kms.send(
    new PutKeyPolicyCommand({
      KeyId: t.keyArn,
      PolicyName: 'default',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [root(), ...statements] }),
    }),
  );

/** DEKs through a fresh DEK service (cold KEK cache), so the KEK really is unwrapped by KMS under the new policy. */
const coldFetch = (t: AwsTenant, segments: string[]) =>
  h.fetchDeks(t, t.workspaceIds[0], segments, h.dekService().service);

describe('AWS customer policies and the revocation decision', () => {
  it('a key policy scoping Keyhold by kms:EncryptionContext:keyhold:tenant is not a revocation: DEKs, rotation and probes keep working', async () => {
    const t = await h.awsTenant();
    const before = await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, ...tenantScopedStatements(t.roleArn, t.tenantId));
    expect(await coldFetch(t, ['a'])).toEqual(before);
    const rotation = await h.waitForOperation(
      t.tenantId,
      await h.request(t.tenantId, t.workspaceIds[0], OperationKind.KekRotation),
    );
    expect(rotation.state).toBe('succeeded');
    const op = await checkUntilDone(h, t);
    expect(op.params.result).toMatchObject({ outcome: 'active' });
    expect(await h.workspace(t.tenantId, t.workspaceIds[0])).toMatchObject({ keyState: 'active', degraded: false });
    expect(await coldFetch(t, ['a'])).toEqual(before);
  });

  it('the same scope naming another tenant does exclude Keyhold: revoked and shredded', async () => {
    const t = await h.awsTenant();
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, ...tenantScopedStatements(t.roleArn, 'some-other-tenant'));
    // DescribeKey is still allowed; the unwrap of the workspace KEK is what is refused.
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });

  it('access through a grant: working while the grant exists, revoked and shredded after RevokeGrant', async () => {
    const t = await h.awsTenant();
    const before = await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    const grant = await h.kms.send(
      new CreateGrantCommand({
        KeyId: t.keyArn,
        GranteePrincipal: t.roleArn,
        Operations: ['Encrypt', 'Decrypt', 'DescribeKey', 'ReEncryptFrom', 'ReEncryptTo'],
      }),
    );
    await putPolicy(t); // the key policy no longer names Keyhold: the grant is its only way in
    expect(await coldFetch(t, ['a'])).toEqual(before);
    expect((await checkUntilDone(h, t)).params.result).toMatchObject({ outcome: 'active' });

    await h.kms.send(new RevokeGrantCommand({ KeyId: t.keyArn, GrantId: grant.GrantId! }));
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });

  it('a customer Deny with ArnNotLike on aws:PrincipalArn: revoked and shredded', async () => {
    const t = await h.awsTenant();
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, JSON.parse(keyPolicyStatementDocument(t.roleArn)), arnNotLikeDeny(h.aws.customerAccountId));
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });

  it('a deletion that completed (NotFound): shredded as key_not_found', async () => {
    const t = await h.awsTenant();
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await h.kms.send(new ScheduleKeyDeletionCommand({ KeyId: t.keyArn, PendingWindowInDays: 7 }));
    expect(
      (await emulatorAdmin(h.aws.adminUrl)('POST', `/aws/keys/${encodeURIComponent(t.keyArn)}/complete-deletion`))
        .status,
    ).toBe(200);
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/key_not_found/);
  });
});
