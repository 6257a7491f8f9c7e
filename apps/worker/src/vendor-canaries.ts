import type { CanaryTarget } from '@app/jobs';
import type { ProviderRegistry } from '@app/keys';

/**
 * The vendor-owned canary keys from the environment (docs/ARCHITECTURE.md "Positive control"). Each is parsed and
 * bound by the cloud's own binding exactly like a customer's configuration, so the canary goes through the same
 * identity path (AWS: the vendor credentials assume a role with an ExternalId, then call KMS). A partial or
 * malformed setting stops the worker with a message naming the variables.
 */
export function canaryTargets(env: Record<string, string | undefined>, registry: ProviderRegistry): CanaryTarget[] {
  const out: CanaryTarget[] = [];
  const aws = ['KEYHOLD_AWS_CANARY_KEY_ARN', 'KEYHOLD_AWS_CANARY_ROLE_ARN', 'KEYHOLD_AWS_CANARY_EXTERNAL_ID'] as const;
  const [keyArn, roleArn, externalId] = aws.map((n) => env[n]?.trim() || undefined);
  if (keyArn || roleArn || externalId) {
    if (!keyArn || !roleArn || !externalId) throw new Error(`${aws.join(', ')} must be set together (the vendor-owned AWS canary)`);
    if (!registry.has('aws')) throw new Error(`${aws[0]} is set but the AWS provider is not configured`);
    const b = registry.binding('aws');
    const tenant = { id: 'vendor-canary', externalId };
    try {
      out.push({ provider: 'aws', config: b.bindTenant(b.parse({ keyArn, roleArn }, tenant), tenant), target: keyArn });
    } catch (err) {
      throw new Error(`${aws.join(' / ')}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}
