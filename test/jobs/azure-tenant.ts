import { randomBytes, randomUUID } from 'node:crypto';
import { OWNERSHIP_TAG } from '@app/provider-azure';
import { BindWorkspace, CreateServicePrincipal, CreateWorkspace, RegisterKeyConfiguration } from '@app/keys';
import type { AzureEmulatorHarness } from '../support/azure-emulator';
import type { JobsHarness } from './harness';

/** An Azure Key Vault key of the customer, registered (and validated) as a key configuration of a Keyhold tenant. */
export interface AzureKey {
  /** The key's name in the vault (what the emulator's admin API and fault rules use). */
  keyName: string;
  /** The versionless key URL Keyhold was given. */
  keyId: string;
  keyConfigurationId: string;
}

/** A tenant with workspaces bound to an Azure key, and a service principal to fetch their DEKs. */
export interface AzureTenant extends AzureKey {
  tenantId: string;
  workspaceIds: string[];
  /** A service principal scoped to the workspaces (the DEK API's caller). */
  principalId: string;
  /** Create, grant and register another Azure key of the same tenant. */
  addKey(): Promise<AzureKey>;
}

function azureOf(h: JobsHarness): AzureEmulatorHarness {
  if (!h.azure) throw new Error("the jobs harness was started without clouds: ['azure']");
  return h.azure;
}

/**
 * What a customer does in their own vault, then in Keyhold: create an RSA key (emulator admin API, as the vault's
 * owner), give Keyhold's multi-tenant app wrap/unwrap/get on it (stands in for the RBAC role assignment), tag it
 * with the Keyhold tenant's ExternalId (real SDK, as the vault's admin; `tag: false` leaves it untagged), and
 * register the versionless key URL for `tenantId`. Throws unless the registration validates. Works for any
 * tenant, including one whose workspaces are bound to another cloud (a cross-cloud re-key target).
 */
export async function addAzureKey(
  h: JobsHarness,
  tenantId: string,
  opts: { grant?: boolean; tag?: boolean } = {},
): Promise<AzureKey> {
  const azure = azureOf(h);
  // Fixed-length random names: no name is a substring of another, so fault rules matching on the name are exact.
  const keyName = `kh-${randomBytes(8).toString('hex')}`;
  const created = await azure.admin('POST', '/azure/keys', { name: keyName });
  if (created.status !== 201) throw new Error(`could not create the customer key: ${JSON.stringify(created.body)}`);
  if (opts.grant !== false) await azure.grantVendor(keyName);
  if (opts.tag !== false) await tagAzureKey(h, tenantId, keyName);
  const keyId = `${azure.vaultUrl}/keys/${keyName}`;
  const kc = await new RegisterKeyConfiguration(h.deps).execute({
    actor: 'admin:test',
    tenantId,
    input: {
      name: `azure-${randomUUID().slice(0, 8)}`,
      provider: 'azure',
      azure: { keyId, tenantId: azure.tenantId },
    },
  });
  if (kc.status !== 'valid')
    throw new Error(`test Azure key configuration did not validate: ${JSON.stringify(kc.validation)}`);
  return { keyName, keyId, keyConfigurationId: kc.id };
}

let seq = 0;

/** A tenant whose `workspaces` workspaces (default 1) are bound to a fresh Azure key; mirrors JobsHarness.awsTenant. */
export async function azureTenant(h: JobsHarness, opts: { workspaces?: number } = {}): Promise<AzureTenant> {
  const n = ++seq;
  const tenant = await h.createTenant(`jobs-azure-${n}`);
  const first = await addAzureKey(h, tenant.id);
  const workspaceIds: string[] = [];
  for (let i = 0; i < (opts.workspaces ?? 1); i++) {
    const ws = await new CreateWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: tenant.id,
      input: { name: `ws-${i}` },
    });
    const bound = await new BindWorkspace(h.deps).execute({
      actor: 'admin:test',
      tenantId: tenant.id,
      workspaceId: ws.id,
      keyConfigurationId: first.keyConfigurationId,
    });
    if (bound.kind !== 'bound') throw new Error('expected a first binding');
    workspaceIds.push(ws.id);
  }
  const sp = await new CreateServicePrincipal(h.deps).execute({
    actor: 'admin:test',
    tenantId: tenant.id,
    input: {
      name: 'jobs-test',
      workspaceIds,
    },
  });
  return {
    tenantId: tenant.id,
    ...first,
    workspaceIds,
    principalId: sp.id,
    addKey: () => addAzureKey(h, tenant.id),
  };
}

/** Sets (or, with `present: false`, removes) the ownership tag on a key as its owner, through the real SDK. */
export async function tagAzureKey(h: JobsHarness, tenantId: string, keyName: string, present = true): Promise<void> {
  const tenant = await h.deps.repos.tenants.findById(tenantId);
  if (!tenant) throw new Error(`no tenant ${tenantId}`);
  await azureOf(h)
    .customerKeys()
    .updateKeyProperties(keyName, { tags: present ? { [OWNERSHIP_TAG]: tenant.externalId } : {} });
}
