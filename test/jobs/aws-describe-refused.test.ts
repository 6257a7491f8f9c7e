import {
  CreateGrantCommand,
  DisableKeyCommand,
  PutKeyPolicyCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { OperationKind } from '@app/jobs';
import { GetKeyConfiguration, ValidateKeyConfiguration } from '@app/keys';
import { KEYHOLD_KMS_ACTIONS } from '@app/provider-aws';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { AwsTenant, JobsHarness, startJobsHarness } from './harness';
import { checkUntilDone, expectDegradedNeverShredded, expectShredded } from './assertions';

/**
 * A customer key policy that lets Keyhold wrap and unwrap but refuses DescribeKey (and ListKeyRotations): every KMS
 * permission scoped by encryption context (DescribeKey carries none, so such an Allow never matches it), or simply
 * only Encrypt/Decrypt/ReEncrypt granted. The customer did not revoke anything: the probe must prove access by the
 * unwrap the DEK path needs, never shred, and flag the configuration. When the unwrap is refused as well, it is a
 * revocation candidate as before and shreds through the usual confirmation rules.
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({ probeConfirmationWindowSeconds: 2, probeConfirmations: 3 });
  worker = await startTestWorker(h.config, { settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2 } });
});
afterEach(() => h.aws.faults.clear());
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

const CRYPTO_ONLY = KEYHOLD_KMS_ACTIONS.filter((a) => a !== 'kms:DescribeKey' && a !== 'kms:ListKeyRotations');
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
/** Encrypt/Decrypt/ReEncrypt* for Keyhold's role, optionally only for one tenant's encryption context; no DescribeKey. */
const cryptoOnly = (t: AwsTenant, tenant?: string) => ({
  Sid: 'KeyholdCryptoOnly',
  Effect: 'Allow',
  Principal: { AWS: t.roleArn },
  Action: CRYPTO_ONLY,
  Resource: '*',
  ...(tenant ? { Condition: { StringEquals: { 'kms:EncryptionContext:keyhold:tenant': tenant } } } : {}),
});

/** DEKs through a fresh DEK service (cold KEK cache), so the KEK really is unwrapped by KMS under the new policy. */
const coldFetch = (t: AwsTenant, segments: string[]) =>
  h.fetchDeks(t, t.workspaceIds[0], segments, h.dekService().service);

const probeWarning = async (t: AwsTenant) =>
  (
    await h.ds.query(
      `SELECT validation->'probeWarning' AS w FROM key_configurations WHERE tenant_id = $1 AND id = $2`,
      [t.tenantId, t.keyConfigurationId],
    )
  )[0].w as { code: string; errorClass: string; message: string } | null;

const shreds = async (t: AwsTenant) =>
  (
    await h.ds.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1 AND action = 'workspace.shredded'`,
      [t.tenantId],
    )
  )[0].n as number;

async function expectDescribeOnlyRefusal(t: AwsTenant, before: Map<string, string>): Promise<void> {
  expect(await coldFetch(t, ['a'])).toEqual(before);
  // More probes than the confirmation count, spanning more than the confirmation window: never suspect, never shred.
  const started = Date.now();
  for (let i = 0; i < 4 || Date.now() - started < h.config.probe.confirmationWindowSeconds * 1000 + 500; i++) {
    const op = await checkUntilDone(h, t);
    expect(op.params.result).toMatchObject({ outcome: 'active', warning: 'describe_denied' });
    expect(String(op.params.lastReason)).toMatch(
      /unwrap works; describe refused \(access_denied, AccessDeniedException\)/,
    );
    for (const ws of t.workspaceIds)
      expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: false });
  }
  expect(await shreds(t)).toBe(0);
  const counted = await h.ds.query(
    `SELECT consecutive_definitive AS n FROM key_configuration_access WHERE tenant_id = $1 AND key_configuration_id = $2`,
    [t.tenantId, t.keyConfigurationId],
  );
  expect(counted[0].n).toBe(0);
  // Flagged for the admin: Keyhold can use the key but not describe it.
  expect(await probeWarning(t)).toMatchObject({
    code: 'describe_denied',
    errorClass: 'access_denied',
    message: expect.stringMatching(/DescribeKey/),
  });
  // What the admin API shows on the configuration.
  const view = await new GetKeyConfiguration(h.deps).execute({ tenantId: t.tenantId, id: t.keyConfigurationId });
  expect(view.validation).toMatchObject({
    probeWarning: { code: 'describe_denied', errorClass: 'access_denied', providerCode: 'AccessDeniedException' },
  });
  // Audited once when it appeared, not on every probe.
  const audited = await h.ds.query(
    `SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = $1 AND action = 'key_configuration.probe_warning'`,
    [t.tenantId],
  );
  expect(audited[0].n).toBe(1);
  // The DEK path and a KEK rotation (wrap + verify, no describe needed) keep working.
  expect(await coldFetch(t, ['a'])).toEqual(before);
  const rotation = await h.waitForOperation(
    t.tenantId,
    await h.request(t.tenantId, t.workspaceIds[0], OperationKind.KekRotation),
  );
  expect(rotation.state).toBe('succeeded');
  expect(await coldFetch(t, ['a'])).toEqual(before);
  // A requested CMK rewrap needs the key's current version (describe): it fails with the refusal, and the workspace
  // stays active and serving (the revocation check it sets off proves access by the unwrap).
  const rewrap = await h.waitForOperation(
    t.tenantId,
    await h.request(t.tenantId, t.workspaceIds[0], OperationKind.CmkRewrap),
  );
  expect(rewrap.state).toBe('failed');
  expect(rewrap.error).toMatch(/access_denied/);
  expect((await checkUntilDone(h, t)).params.result).toMatchObject({ outcome: 'active' });
  expect(await h.workspace(t.tenantId, t.workspaceIds[0])).toMatchObject({ keyState: 'active' });
  expect(await coldFetch(t, ['a'])).toEqual(before);
  expect(await shreds(t)).toBe(0);
  const metrics = await worker.metrics.registry.getSingleMetricAsString('keyhold_access_probe_warnings_total');
  expect(metrics).toMatch(/keyhold_access_probe_warnings_total\{provider="aws",warning="describe_denied"\} [1-9]/);
}

describe('AWS: DescribeKey refused while the unwrap works is not a revocation', () => {
  it('Encrypt/Decrypt/ReEncrypt scoped by kms:EncryptionContext:keyhold:tenant, no DescribeKey: active, never shredded, flagged; cleared when describe is allowed again', async () => {
    const t = await h.awsTenant({ workspaces: 2 });
    const before = await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, cryptoOnly(t, t.tenantId));
    await expectDescribeOnlyRefusal(t, before);

    await putPolicy(t, cryptoOnly(t, t.tenantId), {
      Sid: 'Describe',
      Effect: 'Allow',
      Principal: { AWS: t.roleArn },
      Action: ['kms:DescribeKey', 'kms:ListKeyRotations'],
      Resource: '*',
    });
    expect((await checkUntilDone(h, t)).params.result).toMatchObject({ outcome: 'active' });
    expect(await probeWarning(t)).toBeNull();
  });

  it('only Encrypt/Decrypt/ReEncrypt granted, unscoped: active, never shredded, flagged', async () => {
    const t = await h.awsTenant();
    const before = await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, cryptoOnly(t));
    await expectDescribeOnlyRefusal(t, before);

    // Validation needs DescribeKey: validating again marks the configuration invalid (and replaces the warning), but
    // the bound workspaces keep serving, and the next probe flags the configuration again.
    const revalidated = await new ValidateKeyConfiguration(h.deps).execute({
      actor: 'admin:test',
      tenantId: t.tenantId,
      id: t.keyConfigurationId,
    });
    expect(revalidated.status).toBe('invalid');
    expect(await coldFetch(t, ['a'])).toEqual(before);
    expect((await checkUntilDone(h, t)).params.result).toMatchObject({ outcome: 'active', warning: 'describe_denied' });
    expect(await probeWarning(t)).toMatchObject({ code: 'describe_denied' });
    expect(await h.workspace(t.tenantId, t.workspaceIds[0])).toMatchObject({ keyState: 'active' });
  });

  it('describe refused and the unwrap failing transiently (Decrypt throttled): inconclusive and degraded, never suspect or shredded', async () => {
    const t = await h.awsTenant({ workspaces: 2 });
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, cryptoOnly(t, t.tenantId));
    h.aws.faults.add({ cloud: 'aws', keyId: t.keyArn.split('/').pop()!, operation: 'Decrypt', kind: 'throttle' });
    const op = await checkUntilDone(h, t, t.workspaceIds[0], 45_000);
    expect(op.params.result).toMatchObject({ outcome: 'inconclusive' });
    expect(String(op.params.lastReason)).toMatch(/throttled/);
    await expectDegradedNeverShredded(h, [t]);

    h.aws.faults.clear();
    expect((await checkUntilDone(h, t)).params.result).toMatchObject({ outcome: 'active', warning: 'describe_denied' });
    expect(await h.workspace(t.tenantId, t.workspaceIds[0])).toMatchObject({ keyState: 'active', degraded: false });
  }, 60_000);

  it('describe and unwrap both refused (Keyhold removed from the key policy): revoked and shredded', async () => {
    const t = await h.awsTenant({ workspaces: 2 });
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t);
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });

  it('describe refused and the scope names another tenant: the unwrap is refused too, shredded', async () => {
    const t = await h.awsTenant();
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, cryptoOnly(t, 'some-other-tenant'));
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });

  it('describe refused and the key disabled: shredded as key_disabled', async () => {
    const t = await h.awsTenant();
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, cryptoOnly(t, t.tenantId));
    await h.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/key_disabled/);
  });

  it('describe refused and the key scheduled for deletion: shredded as key_pending_deletion', async () => {
    const t = await h.awsTenant();
    await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await putPolicy(t, cryptoOnly(t, t.tenantId));
    await h.kms.send(new ScheduleKeyDeletionCommand({ KeyId: t.keyArn, PendingWindowInDays: 7 }));
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/key_pending_deletion/);
  });

  it('a grant of Encrypt/Decrypt only (no DescribeKey): working and flagged while it exists, shredded after RevokeGrant', async () => {
    const t = await h.awsTenant();
    const before = await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    const grant = await h.kms.send(
      new CreateGrantCommand({ KeyId: t.keyArn, GranteePrincipal: t.roleArn, Operations: ['Encrypt', 'Decrypt'] }),
    );
    await putPolicy(t);
    expect(await coldFetch(t, ['a'])).toEqual(before);
    expect((await checkUntilDone(h, t)).params.result).toMatchObject({ outcome: 'active' });
    expect(await probeWarning(t)).toMatchObject({ code: 'describe_denied' });
    expect(await shreds(t)).toBe(0);

    await h.kms.send(new RevokeGrantCommand({ KeyId: t.keyArn, GrantId: grant.GrantId! }));
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });
});
