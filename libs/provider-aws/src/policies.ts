/**
 * The policy documents Keyhold shows tenants and the session policy it attaches to every role session.
 * The actions are the least Keyhold needs: Encrypt/Decrypt to wrap and unwrap KEKs, DescribeKey to validate,
 * ListKeyRotations to learn the current key material, ReEncryptFrom/ReEncryptTo to rewrap a KEK under new key
 * material inside KMS after a rotation (the KEK never leaves KMS; the rewrap falls back to Decrypt + Encrypt for
 * customers who granted only the first four).
 */

export const KEYHOLD_KMS_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:DescribeKey',
  'kms:ListKeyRotations',
] as const;

/** Trust policy for the tenant's role: only Keyhold's principal, only with this tenant's ExternalId. */
export function trustPolicyDocument(vendorPrincipalArn: string, externalId: string): string {
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AllowKeyholdWithExternalId',
          Effect: 'Allow',
          Principal: { AWS: vendorPrincipalArn },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': externalId } },
        },
      ],
    },
    null,
    2,
  );
}

/** Key policy statement granting the tenant's role the actions Keyhold uses on the key. */
export function keyPolicyStatementDocument(roleArn: string): string {
  return JSON.stringify(
    {
      Sid: 'AllowKeyholdUseOfTheKey',
      Effect: 'Allow',
      Principal: { AWS: roleArn },
      Action: [...KEYHOLD_KMS_ACTIONS],
      Resource: '*',
    },
    null,
    2,
  );
}

/**
 * Session policy: the session can do Keyhold's actions on this one key and nothing else, whatever the role
 * allows. An alias not yet pinned narrows to the keys of its account and region (DescribeKey resolves it).
 */
export function sessionPolicy(resource: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'KeyholdOneKey', Effect: 'Allow', Action: [...KEYHOLD_KMS_ACTIONS], Resource: resource }],
  });
}

/** `keyhold-<tenantId>`, restricted to STS's RoleSessionName charset and 64 characters. */
export function roleSessionName(tenantId: string): string {
  const safe = `keyhold-${tenantId}`.replace(/[^\w+=,.@-]/g, '-');
  return safe.slice(0, 64);
}
