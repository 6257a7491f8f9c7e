import type { KeyManagementServiceClient } from '@google-cloud/kms';
import type { RunningWorker } from '../../apps/worker/src/worker';
import { startTestWorker } from '../support/worker';
import { JobsHarness, startJobsHarness } from './harness';
import { checkUntilDone, expectShredded } from './assertions';
import { GcpTenant, gcpOwner, gcpTenant } from './gcp-tenant';

/**
 * The same rule as on AWS, through the cloud-agnostic probe: a customer who grants Keyhold's service account only
 * roles/cloudkms.cryptoKeyEncrypterDecrypter (useToEncrypt/useToDecrypt, no cloudkms.cryptoKeys.get) has not revoked
 * anything. The probe proves access by the unwrap, never shreds, and flags the configuration; once the decrypt
 * permission goes too it is a revocation candidate and shreds through the usual confirmation rules.
 */
let h: JobsHarness;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startJobsHarness({ clouds: ['gcp'], probeConfirmationWindowSeconds: 2, probeConfirmations: 3 });
  worker = await startTestWorker(h.config, { settings: { maxTransientProbes: 4, providerAttemptsInPlace: 2 } });
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];
/** Encrypter/Decrypter only: no Viewer, so getCryptoKey is refused (PERMISSION_DENIED) while decrypt works. */
const encrypterDecrypterOnly = (t: GcpTenant) =>
  gcpOwner(h).setIamPolicy({
    resource: t.keyName,
    policy: {
      bindings: [
        { role: 'roles/cloudkms.admin', members: [h.gcp!.ownerMember] },
        { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [`serviceAccount:${t.serviceAccount}`] },
      ],
    },
  } as unknown as SetIamPolicyArg);

describe('GCP: cloudkms.cryptoKeys.get refused while useToDecrypt works is not a revocation', () => {
  it('Encrypter/Decrypter without Viewer: active over more probes than the confirmation rules need, flagged; Keyhold removed: shredded', async () => {
    const t = await gcpTenant(h, { workspaces: 2 });
    const before = await h.fetchDeks(t, t.workspaceIds[0], ['a']);
    await encrypterDecrypterOnly(t);
    const started = Date.now();
    for (let i = 0; i < 4 || Date.now() - started < h.config.probe.confirmationWindowSeconds * 1000 + 500; i++) {
      const op = await checkUntilDone(h, t);
      expect(op.params.result).toMatchObject({ outcome: 'active', warning: 'describe_denied' });
      for (const ws of t.workspaceIds)
        expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: false });
    }
    const kc = await h.ds.query(
      `SELECT validation->'probeWarning' AS w FROM key_configurations WHERE tenant_id = $1 AND id = $2`,
      [t.tenantId, t.keyConfigurationId],
    );
    expect(kc[0].w).toMatchObject({
      code: 'describe_denied',
      errorClass: 'access_denied',
      message: expect.stringMatching(/cloudkms\.cryptoKeys\.get/),
    });
    expect(await h.fetchDeks(t, t.workspaceIds[0], ['a'], h.dekService().service)).toEqual(before);

    await t.revoke();
    const op = await expectShredded(h, t);
    expect(String(op.params.lastReason)).toMatch(/access_denied/);
  });
});
