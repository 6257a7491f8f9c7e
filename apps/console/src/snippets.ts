import type { Provider, Tenant } from './api/types';

/**
 * What the customer must paste into their own cloud so Keyhold can use their key, composed from the tenant's
 * identities (GET /v1/tenants/{id}) and what the admin typed. Pure functions: the wizard shows them live as the
 * admin fills the form. Where the API returns its own snippet (tenant `aws.trustPolicy`, configuration
 * `setup`), the console shows that instead, so there is one source of truth.
 */

export interface Snippet {
  title: string;
  code: string;
  hint: string;
}

/**
 * The least Keyhold needs on an AWS key: wrap/unwrap KEKs, rewrap them inside KMS after a rotation, validate, learn
 * the current key material (the same list as libs/provider-aws KEYHOLD_KMS_ACTIONS).
 */
const AWS_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:DescribeKey',
  'kms:ListKeyRotations',
];

export function awsTrustPolicy(tenant: Tenant): string {
  if (tenant.aws?.trustPolicy) return tenant.aws.trustPolicy;
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AllowKeyholdWithExternalId',
          Effect: 'Allow',
          Principal: { AWS: tenant.aws?.trustedPrincipalArn ?? '<Keyhold principal ARN>' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': tenant.aws?.externalId ?? '<ExternalId>' } },
        },
      ],
    },
    null,
    2,
  );
}

export function awsKeyPolicyStatement(roleArn: string): string {
  return JSON.stringify(
    {
      Sid: 'AllowKeyholdUseOfTheKey',
      Effect: 'Allow',
      Principal: { AWS: roleArn || '<your role ARN>' },
      Action: AWS_ACTIONS,
      Resource: '*',
    },
    null,
    2,
  );
}

/**
 * `https://<vault>.vault.azure.net/keys/<name>[/<version>]` → its parts, or null while incomplete. An explicit port
 * is tolerated (private endpoints, the local emulator) so the grant still names the vault and key.
 */
export function parseAzureKeyUrl(url: string): { vault: string; key: string; hsm: boolean } | null {
  const m =
    /^https:\/\/([a-z0-9-]+)\.(vault|managedhsm)\.[a-z.]+(?::\d{1,5})?\/keys\/([A-Za-z0-9-]+)(?:\/[A-Za-z0-9]+)?\/?$/.exec(
      url.trim(),
    );
  return m ? { vault: m[1], hsm: m[2] === 'managedhsm', key: m[3] } : null;
}

export function azureGrant(tenant: Tenant, keyUrl: string, entraTenantId: string): string {
  const clientId = tenant.azure?.clientId ?? '<Keyhold application (client) id>';
  const parts = parseAzureKeyUrl(keyUrl);
  const vault = parts?.vault ?? '<vault-name>';
  const key = parts?.key ?? '<key-name>';
  const lines = [
    "# 1. Let Keyhold's multi-tenant application into your Entra tenant (once per tenant).",
    `az login --tenant ${entraTenantId || '<your Entra tenant id>'}`,
    `az ad sp create --id ${clientId}`,
    '',
  ];
  if (parts?.hsm) {
    lines.push(
      '# 2. Grant it wrap/unwrap on this one key (Managed HSM local RBAC).',
      `az keyvault role assignment create --hsm-name ${vault} \\`,
      `  --role "Managed HSM Crypto Service Encryption User" \\`,
      `  --assignee ${clientId} --scope /keys/${key}`,
    );
  } else {
    lines.push(
      '# 2. Grant it get/wrapKey/unwrapKey on this one key (Azure RBAC, key scope).',
      `az role assignment create --role "Key Vault Crypto Service Encryption User" \\`,
      `  --assignee ${clientId} \\`,
      `  --scope "$(az keyvault show --name ${vault} --query id -o tsv)/keys/${key}"`,
    );
  }
  return lines.join('\n');
}

/**
 * The tag only the key's owner can set: it gives the key to this one Keyhold tenant. Keyhold's application can read
 * tags but not set them, so another Keyhold tenant naming the same key URL is refused.
 */
export function azureOwnershipTag(tenant: Tenant, keyUrl: string): string {
  const parts = parseAzureKeyUrl(keyUrl);
  const vault = parts?.vault ?? '<vault-name>';
  const key = parts?.key ?? '<key-name>';
  const tag = tenant.azure?.ownershipTag ?? 'keyhold-external-id';
  const value = tenant.azure?.externalId ?? tenant.aws?.externalId ?? '<your tenant ExternalId>';
  return [
    "# 3. Give this key to your Keyhold tenant, and only to it: tag it with your tenant's ExternalId.",
    `az keyvault key set-attributes --${parts?.hsm ? 'hsm-name' : 'vault-name'} ${vault} --name ${key} \\`,
    `  --tags ${tag}=${value}`,
  ].join('\n');
}

/** `projects/p/locations/l/keyRings/r/cryptoKeys/k` → its parts, or null while incomplete. */
export function parseGcpKeyName(
  name: string,
): { project: string; location: string; keyRing: string; key: string } | null {
  const m = /^projects\/([^/]+)\/locations\/([^/]+)\/keyRings\/([^/]+)\/cryptoKeys\/([^/]+)$/.exec(name.trim());
  return m ? { project: m[1], location: m[2], keyRing: m[3], key: m[4] } : null;
}

export function gcpBinding(keyName: string, serviceAccount: string): string {
  const p = parseGcpKeyName(keyName);
  const sa = serviceAccount || '<Keyhold service account for your tenant>';
  const args = p
    ? `${p.key} --project ${p.project} --location ${p.location} --keyring ${p.keyRing}`
    : '<key> --project <project> --location <location> --keyring <key-ring>';
  return [
    "# Encrypt/decrypt with the key (wrap and unwrap Keyhold's KEKs).",
    `gcloud kms keys add-iam-policy-binding ${args} \\`,
    `  --member serviceAccount:${sa} --role roles/cloudkms.cryptoKeyEncrypterDecrypter`,
    '',
    "# Read the key's metadata (state, purpose, primary version) for validation and health checks.",
    `gcloud kms keys add-iam-policy-binding ${args} \\`,
    `  --member serviceAccount:${sa} --role roles/cloudkms.viewer`,
  ].join('\n');
}

export interface WizardInput {
  keyArn: string;
  roleArn: string;
  azureKeyId: string;
  azureTenantId: string;
  gcpKeyName: string;
  gcpServiceAccount: string;
  /** Optional replica key (AWS multi-Region replica ARN, GCP key in a second location, Azure key in a paired vault). */
  replicaKey?: string;
}

/** The snippets for the provider being registered, in the order the customer applies them. */
export function snippetsFor(provider: Provider, tenant: Tenant, input: WizardInput): Snippet[] {
  switch (provider) {
    case 'aws':
      return [
        {
          title: 'Trust policy for your IAM role',
          code: awsTrustPolicy(tenant),
          hint: "IAM → Roles → your role → Trust relationships → Edit. Only Keyhold, and only with your tenant's ExternalId, may assume the role.",
        },
        {
          title: 'Key policy statement for your KMS key',
          code: awsKeyPolicyStatement(input.roleArn),
          hint: 'KMS → your key → Key policy → Edit: add this statement to the Statement list.',
        },
      ];
    case 'azure':
      return [
        {
          title: 'Role assignment on your Key Vault key',
          code: azureGrant(tenant, input.azureKeyId, input.azureTenantId),
          hint: 'Run in Azure Cloud Shell as someone who can assign roles on the vault.',
        },
        {
          title: 'Ownership tag on your Key Vault key',
          code: azureOwnershipTag(tenant, input.azureKeyId),
          hint:
            'Run as someone who manages the key (e.g. Key Vault Crypto Officer). Keyhold uses the key only while this tag is on its current version; ' +
            "--tags replaces the key's tags, so list any it already has too (az keyvault key show … --query tags). After creating a new key version by hand, check the tag is on it.",
        },
      ];
    case 'gcp':
      return [
        {
          title: 'IAM bindings on your CryptoKey',
          code: gcpBinding(input.gcpKeyName, input.gcpServiceAccount),
          hint: 'Run in Cloud Shell as someone with cloudkms.admin on the key (or paste the two bindings in the console).',
        },
      ];
  }
}

/** Snippets the API composed for a stored configuration (`setup`), as strings. */
export function setupSnippets(setup: Record<string, unknown> | undefined): Snippet[] {
  if (!setup) return [];
  const titles: Record<string, string> = {
    keyPolicyStatement: 'Key policy statement for your KMS key',
    trustPolicy: 'Trust policy for your IAM role',
    accessGrant: 'Role assignment on your Key Vault key',
    ownershipTag: 'Ownership tag on your Key Vault key',
    iamBinding: 'IAM binding on your CryptoKey',
  };
  const out: Snippet[] = [];
  for (const [k, v] of Object.entries(setup)) {
    if (v === null || v === undefined || v === '') continue;
    out.push({ title: titles[k] ?? k, code: typeof v === 'string' ? v : JSON.stringify(v, null, 2), hint: '' });
  }
  return out;
}
