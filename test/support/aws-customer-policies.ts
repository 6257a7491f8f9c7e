import { KEYHOLD_KMS_ACTIONS } from '@app/provider-aws';

/**
 * The key policy statements a customer writes to let Keyhold in only for its own tenant's context (the example in
 * docs/EMULATORS.md and the README): the cryptographic actions scoped by `kms:EncryptionContext:keyhold:tenant`,
 * DescribeKey and ListKeyRotations unscoped, since those requests carry no encryption context and an Allow
 * conditioned on one would never match them.
 */
export function tenantScopedStatements(roleArn: string, tenantId: string): unknown[] {
  const crypto = KEYHOLD_KMS_ACTIONS.filter((a) => a !== 'kms:DescribeKey' && a !== 'kms:ListKeyRotations');
  return [
    {
      Sid: 'KeyholdDescribe',
      Effect: 'Allow',
      Principal: { AWS: roleArn },
      Action: ['kms:DescribeKey', 'kms:ListKeyRotations'],
      Resource: '*',
    },
    {
      Sid: 'KeyholdWrapForThisTenantOnly',
      Effect: 'Allow',
      Principal: { AWS: roleArn },
      Action: crypto,
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:keyhold:tenant': tenantId } },
    },
  ];
}

/** A customer guardrail: deny every principal of the key's account except the root and an admins/ path. */
export function arnNotLikeDeny(accountId: string): unknown {
  return {
    Sid: 'OnlyOurAdmins',
    Effect: 'Deny',
    Principal: '*',
    Action: 'kms:*',
    Resource: '*',
    Condition: {
      ArnNotLike: { 'aws:PrincipalArn': [`arn:aws:iam::${accountId}:root`, `arn:aws:iam::${accountId}:role/admins/*`] },
    },
  };
}
