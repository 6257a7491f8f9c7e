import { randomBytes } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  KMSClient,
  PutKeyPolicyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  AwsKeyConfig,
  ProviderCallEvent,
  ProviderCallObserver,
  ProviderError,
  RewrapNotPermittedError,
  runValidation,
  WrapContext,
  contextToMap,
} from '@app/provider-port';
import { AwsKmsProvider, AwsProviderSettings, createAwsProvider, parseAwsKeyConfigInput } from '@app/provider-aws';
import { AwsEmulatorHarness, startAwsEmulator } from '../support/aws-emulator';

let aws: AwsEmulatorHarness;
let kms: KMSClient;
let iam: IAMClient;
const providers: AwsKmsProvider[] = [];
const events: ProviderCallEvent[] = [];
const observer = new ProviderCallObserver();
observer.subscribe((e) => events.push(e));

beforeAll(async () => {
  aws = await startAwsEmulator();
  kms = aws.customerKms();
  iam = aws.customerIam();
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await aws.close();
});
afterEach(() => aws.faults.clear());

function settings(over: Partial<AwsProviderSettings> = {}): AwsProviderSettings {
  return {
    region: aws.region,
    kmsEndpoint: aws.url,
    stsEndpoint: aws.url,
    vendorCredentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: aws.vendor.secretAccessKey },
    vendorPrincipalArn: aws.vendor.arn,
    maxAttempts: 1,
    requestTimeoutMs: 2000,
    allowedPartitions: ['aws'],
    ...over,
  };
}

function provider(over: Partial<AwsProviderSettings> = {}): AwsKmsProvider {
  const p = createAwsProvider(settings(over), observer);
  providers.push(p);
  return p;
}

const newExternalId = () => randomBytes(24).toString('base64url');
let seq = 0;
const rootPolicyStatement = () => ({
  Sid: 'Root',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${aws.customerAccountId}:root` },
  Action: 'kms:*',
  Resource: '*',
});

/**
 * A tenant set up as the console tells them: a role trusting Keyhold with the ExternalId, and a key whose
 * policy carries the statement Keyhold shows ('key-policy'), or the default key policy plus an IAM policy on
 * the role ('iam').
 */
async function tenant(opts: { grant?: 'key-policy' | 'iam'; externalIdCondition?: boolean } = {}) {
  const grant = opts.grant ?? 'key-policy';
  const externalId = newExternalId();
  const p = provider();
  const roleName = `keyhold-access-${++seq}`;
  const trust =
    opts.externalIdCondition === false
      ? JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: aws.vendor.arn }, Action: 'sts:AssumeRole' }],
        })
      : p.trustPolicy(externalId);
  const role = await iam.send(
    new CreateRoleCommand({ RoleName: roleName, Path: '/keyhold/', AssumeRolePolicyDocument: trust }),
  );
  const roleArn = role.Role!.Arn!;
  const policy =
    grant === 'key-policy'
      ? JSON.stringify({
          Version: '2012-10-17',
          Statement: [rootPolicyStatement(), JSON.parse(p.keyPolicyStatement(roleArn))],
        })
      : undefined;
  const key = await kms.send(new CreateKeyCommand({ ...(policy ? { Policy: policy } : {}) }));
  const keyArn = key.KeyMetadata!.Arn!;
  if (grant === 'iam') {
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: 'keyhold-kms',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:ListKeyRotations'],
              Resource: keyArn,
            },
          ],
        }),
      }),
    );
  }
  const config = parseAwsKeyConfigInput({ keyArn, roleArn }, externalId, { allowedPartitions: ['aws'] });
  return { p, config, keyArn, roleArn, roleName, externalId, tenantId: `tenant-${seq}` };
}

function ctxFor(tenantId: string, workspaceId = 'ws-1'): WrapContext {
  return { tenantId, workspaceId, keyConfigurationId: 'kc-1', kekVersion: 1, purpose: 'workspace-kek' };
}

async function classOf(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

describe('AWS provider against the emulator', () => {
  it('wraps and unwraps with the bound context; a context swap fails as invalid_ciphertext; one AssumeRole serves many calls', async () => {
    const t = await tenant();
    aws.counters.reset();
    const kek = randomBytes(32);
    const wrapped = await t.p.wrap(t.config, kek, ctxFor(t.tenantId));
    expect(wrapped.ciphertext.includes(kek)).toBe(false);
    expect(wrapped.keyVersion).toBeNull();
    const back = await t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId));
    expect(back.equals(kek)).toBe(true);
    const swapped = await classOf(t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId, 'ws-2')));
    expect(swapped.errorClass).toBe('invalid_ciphertext');
    expect(swapped.revocationCandidate).toBe(false);
    expect(swapped.message).not.toContain(kek.toString('base64'));
    await t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId));
    expect(aws.counters.total({ operation: 'AssumeRole', outcome: 'ok' })).toBe(1);
    expect(
      aws.counters
        .list({ operation: 'Decrypt' })
        .every(
          (r) =>
            r.principal === `arn:aws:sts::${aws.customerAccountId}:assumed-role/${t.roleName}/keyhold-${t.tenantId}`,
        ),
    ).toBe(true);

    const measured = events.filter((e) => e.tenantId === t.tenantId).map((e) => `${e.operation}:${e.outcome}`);
    expect(measured).toEqual(
      expect.arrayContaining([
        'assume_role:ok',
        'list_versions:ok',
        'wrap:ok',
        'unwrap:ok',
        'unwrap:invalid_ciphertext',
      ]),
    );
  });

  it('reports the rotated key material as keyVersion/currentVersion and still unwraps older KEKs', async () => {
    const t = await tenant({ grant: 'iam' });
    const before = await t.p.wrap(t.config, Buffer.alloc(32, 1), ctxFor(t.tenantId));
    const d0 = await t.p.describe(t.config, { tenantId: t.tenantId });
    expect(d0).toMatchObject({
      keyId: t.keyArn,
      state: 'enabled',
      usage: 'ENCRYPT_DECRYPT',
      usageOk: true,
      spec: 'SYMMETRIC_DEFAULT',
    });
    expect(d0.currentVersion).toBeNull();
    expect(before.keyVersion).toBeNull();
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: t.keyArn }));
    const after = await t.p.wrap(t.config, Buffer.alloc(32, 2), ctxFor(t.tenantId));
    expect(after.keyVersion).toMatch(/^[0-9a-f]{64}$/);
    expect(after.keyVersion).not.toBe(d0.currentVersion);
    expect((await t.p.describe(t.config, { tenantId: t.tenantId })).currentVersion).toBe(after.keyVersion);
    expect((await t.p.unwrap(t.config, before, ctxFor(t.tenantId))).equals(Buffer.alloc(32, 1))).toBe(true);
  });

  it('rewraps inside KMS under the current key material: one ReEncrypt, the recorded version is the hint, both forms open', async () => {
    const t = await tenant();
    const kek = randomBytes(32);
    const ctx = ctxFor(t.tenantId);
    const w0 = await t.p.wrap(t.config, kek, ctx);
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: t.keyArn }));
    const current = (await t.p.describe(t.config, { tenantId: t.tenantId })).currentVersion;
    expect(current).toMatch(/^[0-9a-f]{64}$/);

    aws.counters.reset();
    const w1 = await t.p.rewrap(t.config, w0, ctx, { keyVersion: current });
    // One call: no Decrypt/Encrypt round trip through Keyhold, no ListKeyRotations per KEK.
    expect(aws.counters.total({ operation: 'ReEncrypt', outcome: 'ok' })).toBe(1);
    expect(aws.counters.total()).toBe(1);
    expect(w1.keyVersion).toBe(current);
    expect(w1.ciphertext.equals(w0.ciphertext)).toBe(false);
    expect(w1.ciphertext.includes(kek)).toBe(false);
    expect((await t.p.unwrap(t.config, w1, ctx)).equals(kek)).toBe(true);
    expect((await t.p.unwrap(t.config, w0, ctx)).equals(kek)).toBe(true);
    // Which material sealed each form, as KMS reports it to the key's owner.
    const materialOf = async (w: { ciphertext: Buffer }) =>
      (
        await kms.send(
          new DecryptCommand({ KeyId: t.keyArn, CiphertextBlob: w.ciphertext, EncryptionContext: contextToMap(ctx) }),
        )
      ).KeyMaterialId;
    expect(await materialOf(w1)).toBe(current);
    expect(await materialOf(w0)).not.toBe(current);

    // Without a hint the binding reads the current material itself, before re-encrypting.
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: t.keyArn }));
    aws.counters.reset();
    const w2 = await t.p.rewrap(t.config, w1, ctx);
    expect(aws.counters.total({ operation: 'ListKeyRotations', outcome: 'ok' })).toBe(1);
    expect(w2.keyVersion).toMatch(/^[0-9a-f]{64}$/);
    expect(w2.keyVersion).not.toBe(current);
    expect(await materialOf(w2)).toBe(w2.keyVersion);
    expect(events.filter((e) => e.tenantId === t.tenantId && e.operation === 'rewrap').map((e) => e.outcome)).toEqual([
      'ok',
      'ok',
    ]);
  });

  it('rewrap refuses a wrong context or another key as invalid_ciphertext, and a disabled or deleting key like Decrypt does', async () => {
    const t = await tenant();
    const ctx = ctxFor(t.tenantId);
    const w0 = await t.p.wrap(t.config, Buffer.alloc(32, 7), ctx);
    const swapped = await classOf(t.p.rewrap(t.config, w0, ctxFor(t.tenantId, 'ws-2'), { keyVersion: null }));
    expect([swapped.errorClass, swapped.operation, swapped.revocationCandidate]).toEqual([
      'invalid_ciphertext',
      'rewrap',
      false,
    ]);
    const other = await tenant();
    const foreign = await other.p.wrap(other.config, Buffer.alloc(32, 8), ctxFor(other.tenantId));
    // The other tenant's ciphertext, presented under this configuration: KMS refuses it (SourceKeyId is pinned).
    expect((await classOf(t.p.rewrap(t.config, foreign, ctx, { keyVersion: null }))).errorClass).toBe(
      'invalid_ciphertext',
    );

    await kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
    const disabled = await classOf(t.p.rewrap(t.config, w0, ctx, { keyVersion: null }));
    expect([disabled.errorClass, disabled.providerCode, disabled.revocationCandidate]).toEqual([
      'key_disabled',
      'DisabledException',
      true,
    ]);
    await kms.send(new EnableKeyCommand({ KeyId: t.keyArn }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: t.keyArn, PendingWindowInDays: 7 }));
    const pending = await classOf(t.p.rewrap(t.config, w0, ctx, { keyVersion: null }));
    expect([pending.errorClass, pending.providerCode]).toEqual(['key_pending_deletion', 'KMSInvalidStateException']);
  });

  it('a grant without kms:ReEncrypt* makes rewrap a RewrapNotPermittedError (never a revocation class); unwrap still works', async () => {
    // The customer who onboarded before Keyhold asked for ReEncrypt: an IAM policy with the original four actions.
    const t = await tenant({ grant: 'iam' });
    const kek = randomBytes(32);
    const ctx = ctxFor(t.tenantId);
    const w0 = await t.p.wrap(t.config, kek, ctx);
    aws.counters.reset();
    const err = await t.p.rewrap(t.config, w0, ctx, { keyVersion: null }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RewrapNotPermittedError);
    expect(err).not.toBeInstanceOf(ProviderError);
    expect(aws.counters.total({ operation: 'ReEncrypt', outcome: 'AccessDeniedException' })).toBe(1);
    expect((await t.p.unwrap(t.config, w0, ctx)).equals(kek)).toBe(true);
    // The audit/metrics event still says what KMS answered.
    expect(events.filter((e) => e.tenantId === t.tenantId && e.operation === 'rewrap').map((e) => e.outcome)).toEqual([
      'access_denied',
    ]);
  });

  it('validates a good configuration and pins an alias to its key; repointing the alias later changes nothing', async () => {
    const t = await tenant();
    const aliasName = `alias/keyhold-${seq}`;
    await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: t.keyArn }));
    const aliasArn = `arn:aws:kms:${aws.region}:${aws.customerAccountId}:${aliasName}`;
    const config = parseAwsKeyConfigInput({ keyArn: aliasArn, roleArn: t.roleArn }, t.externalId, {
      allowedPartitions: ['aws'],
    });
    expect(config.aliasArn).toBe(aliasArn);
    const report = await runValidation(t.p, config, { tenantId: t.tenantId, keyConfigurationId: 'kc-alias' });
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['identifier', true],
      ['assume_role', true],
      ['external_id_required', true],
      ['external_id_enforced', true],
      ['key_state', true],
      ['key_usage', true],
      ['round_trip', true],
      ['context_binding', true],
    ]);
    expect(report.ok).toBe(true);
    const pinned = report.pinned as AwsKeyConfig;
    expect(pinned.keyArn).toBe(t.keyArn);
    expect(pinned.aliasArn).toBe(aliasArn);

    const other = await kms.send(new CreateKeyCommand({}));
    await kms.send(new UpdateAliasCommand({ AliasName: aliasName, TargetKeyId: other.KeyMetadata!.KeyId }));
    const wrapped = await t.p.wrap(pinned, Buffer.alloc(32, 7), ctxFor(t.tenantId));
    const seen = await kms.send(
      new DecryptCommand({
        CiphertextBlob: wrapped.ciphertext,
        EncryptionContext: {
          'keyhold:kek-version': '1',
          'keyhold:key-configuration': 'kc-1',
          'keyhold:purpose': 'workspace-kek',
          'keyhold:tenant': t.tenantId,
          'keyhold:workspace': 'ws-1',
        },
      }),
    );
    expect(seen.KeyId).toBe(t.keyArn);
  });

  it('refuses a role whose trust policy lacks the ExternalId condition, telling the admin what to add', async () => {
    const t = await tenant({ externalIdCondition: false });
    const checks = await t.p.extraChecks(t.config, { tenantId: t.tenantId });
    expect(checks.find((c) => c.name === 'assume_role')!.ok).toBe(true);
    const required = checks.find((c) => c.name === 'external_id_required')!;
    expect(required.ok).toBe(false);
    expect(required.message).toContain('sts:ExternalId');
    expect(required.message).toContain('without an ExternalId');
    expect(checks.find((c) => c.name === 'external_id_enforced')!.message).toContain('with a wrong ExternalId');
    const report = await runValidation(t.p, t.config, { tenantId: t.tenantId, keyConfigurationId: 'kc' });
    expect(report.ok).toBe(false);
    expect(report.checks.some((c) => c.name === 'round_trip')).toBe(false);
  });

  it('classifies a disabled key and a key pending deletion, and validation says so', async () => {
    const t = await tenant();
    const wrapped = await t.p.wrap(t.config, Buffer.alloc(32, 3), ctxFor(t.tenantId));
    await kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
    const disabled = await classOf(t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId)));
    expect([disabled.errorClass, disabled.providerCode, disabled.revocationCandidate]).toEqual([
      'key_disabled',
      'DisabledException',
      true,
    ]);
    const r1 = await runValidation(t.p, t.config, { tenantId: t.tenantId, keyConfigurationId: 'kc' });
    expect(r1.checks.find((c) => c.name === 'key_state')).toMatchObject({
      ok: false,
      message: expect.stringContaining('disabled'),
    });
    await kms.send(new EnableKeyCommand({ KeyId: t.keyArn }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: t.keyArn, PendingWindowInDays: 7 }));
    const pending = await classOf(t.p.unwrap(t.config, wrapped, ctxFor(t.tenantId)));
    expect([pending.errorClass, pending.providerCode]).toEqual(['key_pending_deletion', 'KMSInvalidStateException']);
    expect(t.p.explain(pending, 'round_trip', t.config)).toContain('pending deletion');
    const r2 = await runValidation(t.p, t.config, { tenantId: t.tenantId, keyConfigurationId: 'kc' });
    expect(r2.checks.find((c) => c.name === 'key_state')).toMatchObject({
      ok: false,
      message: expect.stringContaining('pending deletion'),
    });
  });

  it('classifies revocation by key policy, by IAM policy and by deleting the role as access_denied', async () => {
    const byKeyPolicy = await tenant();
    const w1 = await byKeyPolicy.p.wrap(byKeyPolicy.config, Buffer.alloc(32, 4), ctxFor(byKeyPolicy.tenantId));
    await kms.send(
      new PutKeyPolicyCommand({
        KeyId: byKeyPolicy.keyArn,
        PolicyName: 'default',
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [rootPolicyStatement()] }),
      }),
    );
    const e1 = await classOf(byKeyPolicy.p.unwrap(byKeyPolicy.config, w1, ctxFor(byKeyPolicy.tenantId)));
    expect([e1.errorClass, e1.providerCode, e1.operation]).toEqual([
      'access_denied',
      'AccessDeniedException',
      'unwrap',
    ]);
    const r1 = await runValidation(byKeyPolicy.p, byKeyPolicy.config, {
      tenantId: byKeyPolicy.tenantId,
      keyConfigurationId: 'kc',
    });
    expect(r1.checks.find((c) => c.name === 'key_access')).toMatchObject({
      ok: false,
      errorClass: 'access_denied',
      message: expect.stringContaining('is not allowed to use the key'),
    });

    const byIam = await tenant({ grant: 'iam' });
    const w2 = await byIam.p.wrap(byIam.config, Buffer.alloc(32, 5), ctxFor(byIam.tenantId));
    await iam.send(new DeleteRolePolicyCommand({ RoleName: byIam.roleName, PolicyName: 'keyhold-kms' }));
    expect((await classOf(byIam.p.unwrap(byIam.config, w2, ctxFor(byIam.tenantId)))).errorClass).toBe('access_denied');

    // Deleting the role: the cached session is refused by KMS, and a fresh client is refused by STS.
    await iam.send(new DeleteRoleCommand({ RoleName: byIam.roleName }));
    expect((await classOf(byIam.p.unwrap(byIam.config, w2, ctxFor(byIam.tenantId)))).errorClass).toBe('access_denied');
    const fresh = provider();
    const e3 = await classOf(fresh.unwrap(byIam.config, w2, ctxFor(byIam.tenantId)));
    expect([e3.errorClass, e3.providerCode, e3.operation]).toEqual(['access_denied', 'AccessDenied', 'assume_role']);
    const r3 = await runValidation(fresh, byIam.config, { tenantId: byIam.tenantId, keyConfigurationId: 'kc' });
    expect(r3.checks.find((c) => c.name === 'assume_role')).toMatchObject({
      ok: false,
      errorClass: 'access_denied',
      message: expect.stringContaining('trust policy'),
    });
  });

  it('classifies unknown keys and non-encryption keys; validation explains both', async () => {
    const t = await tenant();
    const missing = { ...t.config, keyArn: t.keyArn.replace(/key\/.*/, 'key/11111111-2222-3333-4444-555555555555') };
    const e = await classOf(t.p.describe(missing, { tenantId: t.tenantId }));
    expect([e.errorClass, e.providerCode]).toEqual(['key_not_found', 'NotFoundException']);
    const r = await runValidation(t.p, missing, { tenantId: t.tenantId, keyConfigurationId: 'kc' });
    expect(r.checks.find((c) => c.name === 'key_access')!.message).toContain('was not found');

    const sign = await kms.send(
      new CreateKeyCommand({
        KeyUsage: 'SIGN_VERIFY',
        KeySpec: 'RSA_2048',
        Policy: JSON.stringify({ Statement: [rootPolicyStatement(), JSON.parse(t.p.keyPolicyStatement(t.roleArn))] }),
      }),
    );
    const signConfig = { ...t.config, keyArn: sign.KeyMetadata!.Arn! };
    const r2 = await runValidation(t.p, signConfig, { tenantId: t.tenantId, keyConfigurationId: 'kc' });
    expect(r2.checks.find((c) => c.name === 'key_usage')).toMatchObject({
      ok: false,
      message: expect.stringContaining('SIGN_VERIFY'),
    });
    const e2 = await classOf(t.p.wrap(signConfig, Buffer.alloc(32), ctxFor(t.tenantId)));
    expect(e2.errorClass).toBe('invalid_key_usage');
  });

  it('classifies throttling, 5xx, hangs and resets as transient; validation words them as temporary', async () => {
    const t = await tenant();
    await t.p.describe(t.config, { tenantId: t.tenantId });
    const cases: Array<[string, 'throttle' | 'error' | 'reset', string]> = [
      ['Encrypt', 'throttle', 'throttled'],
      ['Encrypt', 'error', 'unavailable'],
      ['Encrypt', 'reset', 'unavailable'],
    ];
    for (const [operation, kind, cls] of cases) {
      aws.faults.clear();
      aws.faults.add({ cloud: 'aws', operation, kind });
      const e = await classOf(t.p.wrap(t.config, Buffer.alloc(32), ctxFor(t.tenantId)));
      expect([kind, e.errorClass, e.transient, e.revocationCandidate]).toEqual([kind, cls, true, false]);
      expect(t.p.explain(e, 'round_trip', t.config)).toMatch(cls === 'throttled' ? /throttled/ : /temporary/);
    }
    aws.faults.clear();

    const fast = provider({ requestTimeoutMs: 300 });
    await fast.describe(t.config, { tenantId: t.tenantId });
    aws.faults.add({ cloud: 'aws', operation: 'Decrypt', kind: 'hang' });
    const started = Date.now();
    const hung = await classOf(
      fast.unwrap(t.config, { ciphertext: Buffer.alloc(64, 1), keyVersion: null }, ctxFor(t.tenantId)),
    );
    expect(hung.errorClass).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(2000);

    aws.faults.clear();
    aws.faults.add({ cloud: 'aws', operation: 'AssumeRole', kind: 'throttle' });
    const sts = await classOf(provider().describe(t.config, { tenantId: t.tenantId }));
    expect([sts.errorClass, sts.operation]).toEqual(['throttled', 'assume_role']);
  });

  it('classifies bad vendor credentials as auth_misconfigured, never a revocation', async () => {
    const t = await tenant();
    const bad = provider({
      vendorCredentials: { accessKeyId: aws.vendor.accessKeyId, secretAccessKey: 'wrong-secret' },
    });
    const e = await classOf(bad.wrap(t.config, Buffer.alloc(32), ctxFor(t.tenantId)));
    expect([e.errorClass, e.providerCode, e.revocationCandidate]).toEqual([
      'auth_misconfigured',
      'SignatureDoesNotMatch',
      false,
    ]);
    const unknown = provider({ vendorCredentials: { accessKeyId: 'AKIANOTAREALKEY00000', secretAccessKey: 'x' } });
    expect((await classOf(unknown.wrap(t.config, Buffer.alloc(32), ctxFor(t.tenantId)))).providerCode).toBe(
      'InvalidClientTokenId',
    );
    const r = await runValidation(bad, t.config, { tenantId: t.tenantId, keyConfigurationId: 'kc' });
    expect(r.checks.find((c) => c.name === 'assume_role')).toMatchObject({
      ok: false,
      errorClass: 'auth_misconfigured',
      message: expect.stringContaining('Keyhold configuration problem'),
    });
  });

  it('shows the exact trust policy and key policy statement to paste', () => {
    const p = provider();
    const trust = JSON.parse(p.trustPolicy('ext-id-0123456789abcdefghij'));
    expect(trust.Statement[0]).toEqual({
      Sid: 'AllowKeyholdWithExternalId',
      Effect: 'Allow',
      Principal: { AWS: aws.vendor.arn },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': 'ext-id-0123456789abcdefghij' } },
    });
    const stmt = JSON.parse(p.keyPolicyStatement('arn:aws:iam::000000000000:role/r'));
    expect(stmt).toMatchObject({
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::000000000000:role/r' },
      Action: [
        'kms:Encrypt',
        'kms:Decrypt',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'kms:DescribeKey',
        'kms:ListKeyRotations',
      ],
    });
  });
});
