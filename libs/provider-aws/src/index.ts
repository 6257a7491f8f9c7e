export { AwsProviderSettings, loadAwsSettings } from './settings';
export { AwsKmsProvider, createAwsProvider } from './provider';
export { classifyAwsError } from './classify';
export {
  PARTITIONS,
  Partition,
  ParsedKmsArn,
  ParsedRoleArn,
  parseAwsKeyConfigInput,
  parseKmsArn,
  parseRoleArn,
  parseRegion,
  parseAccountId,
  parseKeyId,
  parseAliasName,
  parseExternalId,
  parseVendorPrincipalArn,
} from './identifiers';
export {
  KEYHOLD_KMS_ACTIONS,
  trustPolicyDocument,
  keyPolicyStatementDocument,
  sessionPolicy,
  roleSessionName,
} from './policies';
export { awsProviderModule } from './module';
