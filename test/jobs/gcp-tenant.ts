import { randomBytes, randomUUID } from 'node:crypto';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { BindWorkspace, CreateServicePrincipal, CreateWorkspace, RegisterKeyConfiguration } from '@app/keys';
import type { JobsHarness } from './harness';

/** Where the customer keeps its keys in the emulator. */
export const GCP_CUSTOMER_LOCATION = 'projects/customer-proj/locations/europe-west1';

export interface GcpTenant {
  tenantId: string;
  /** The CryptoKey resource name (projects/…/cryptoKeys/kek). */
  keyName: string;
  /** Keyhold's vendor service account for this tenant (what the customer grants on its key). */
  serviceAccount: string;
  keyConfigurationId: string;
  workspaceIds: string[];
  /** A service principal scoped to the workspaces (the DEK API's caller). */
  principalId: string;
  /** The customer's own Cloud KMS client (no caller identity: the customer project's owner). */
  owner: KeyManagementServiceClient;
  /** Name of CryptoKeyVersion `n` of the key. */
  version(n: number): string;
  /** Put the service account back on the key's IAM policy (Encrypter/Decrypter + Viewer). */
  grant(): Promise<void>;
  /** Remove the service account from the key's IAM policy. */
  revoke(): Promise<void>;
}

type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];

const owners = new WeakMap<JobsHarness, KeyManagementServiceClient>();

/** One customer-side client per harness (the harness closes it with the emulator). */
export function gcpOwner(h: JobsHarness): KeyManagementServiceClient {
  if (!h.gcp) throw new Error("start the jobs harness with clouds: ['gcp']");
  let c = owners.get(h);
  if (!c) {
    c = h.gcp.ownerKms();
    owners.set(h, c);
  }
  return c;
}

/** The customer's IAM policy on its key, with or without Keyhold's service account (what Keyhold's hint asks for). */
export async function setKeyPolicy(
  h: JobsHarness,
  keyName: string,
  serviceAccount: string,
  withKeyhold: boolean,
): Promise<void> {
  const members = withKeyhold ? [`serviceAccount:${serviceAccount}`] : [];
  const bindings = [
    { role: 'roles/cloudkms.admin', members: [h.gcp!.ownerMember] },
    ...(withKeyhold
      ? [
          { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members },
          { role: 'roles/cloudkms.viewer', members },
        ]
      : []),
  ];
  await gcpOwner(h).setIamPolicy({ resource: keyName, policy: { bindings } } as unknown as SetIamPolicyArg);
}

/**
 * A tenant with N workspaces bound to a Cloud KMS key, set up the way a customer does it: Keyhold tells the
 * tenant its vendor service account, the customer creates a key ring and an ENCRYPT_DECRYPT key in its own
 * project with its own SDK client, grants the account Encrypter/Decrypter + Viewer on the key, and registers it.
 */
export async function gcpTenant(h: JobsHarness, opts: { workspaces?: number } = {}): Promise<GcpTenant> {
  const owner = gcpOwner(h);
  const tenant = await h.createTenant(`jobs-gcp`);
  const serviceAccount = (tenant as unknown as { gcp?: { serviceAccount?: string } | null }).gcp?.serviceAccount;
  if (!serviceAccount) throw new Error('the GCP binding did not give the tenant a service account');

  const [ring] = await owner.createKeyRing({
    parent: GCP_CUSTOMER_LOCATION,
    keyRingId: `ring-${randomBytes(5).toString('hex')}`,
    keyRing: {},
  });
  const [key] = await owner.createCryptoKey({
    parent: ring.name!,
    cryptoKeyId: 'kek',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
  });
  const keyName = key.name!;
  await setKeyPolicy(h, keyName, serviceAccount, true);

  const kc = await new RegisterKeyConfiguration(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: `gcp-${randomUUID().slice(0, 8)}`,
      provider: 'gcp',
      gcp: { keyName, serviceAccount },
    },
  });
  if (kc.status !== 'valid')
    throw new Error(`test GCP key configuration did not validate: ${JSON.stringify(kc.validation)}`);

  const workspaceIds: string[] = [];
  for (let i = 0; i < (opts.workspaces ?? 1); i++) {
    const ws = await new CreateWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: tenant.id,
      input: { name: `gcp-ws-${i}` },
    });
    const bound = await new BindWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: tenant.id,
      workspaceId: ws.id,
      keyConfigurationId: kc.id,
    });
    if (bound.kind !== 'bound') throw new Error('expected a first binding');
    workspaceIds.push(ws.id);
  }
  const sp = await new CreateServicePrincipal(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: 'jobs-gcp-test',
      workspaceIds,
    },
  });
  return {
    tenantId: tenant.id,
    keyName,
    serviceAccount,
    keyConfigurationId: kc.id,
    workspaceIds,
    principalId: sp.id,
    owner,
    version: (n: number) => `${keyName}/cryptoKeyVersions/${n}`,
    grant: () => setKeyPolicy(h, keyName, serviceAccount, true),
    revoke: () => setKeyPolicy(h, keyName, serviceAccount, false),
  };
}
