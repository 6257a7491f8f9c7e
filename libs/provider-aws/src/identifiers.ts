import { InvalidIdentifierError } from '@app/provider-port';
import type { AwsKeyConfig } from '@app/provider-port';

/**
 * Parsers for tenant-supplied AWS identifiers. Tenants never supply endpoints: the partition and region come
 * from the ARN and configuration decides where Keyhold connects (no tenant-chosen endpoint, no SSRF). Every rejection
 * names the field and what is wrong.
 */

export const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;
export type Partition = (typeof PARTITIONS)[number];

export interface ParsedKmsArn {
  arn: string;
  partition: Partition;
  region: string;
  accountId: string;
  kind: 'key' | 'alias';
  /** For kind 'key': the key id (UUID or mrk-…). */
  keyId?: string;
  /** For kind 'alias': `alias/<name>`. */
  aliasName?: string;
}

export interface ParsedRoleArn {
  arn: string;
  partition: Partition;
  accountId: string;
  path: string;
  name: string;
}

const KEY_ID_RE = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const REGION_RE = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const ACCOUNT_RE = /^\d{12}$/;
const ALIAS_RE = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const ROLE_NAME_RE = /^[\w+=,.@-]{1,64}$/;
// IAM path: "/" or "/seg/…/", printable ASCII without spaces, at most 512 characters.
const PATH_RE = /^\/(?:[\u0021-\u007e]+\/)?$/;
const EXTERNAL_ID_RE = /^[\w+=,.@:/-]{2,1224}$/;

function fail(field: string, message: string): never {
  throw new InvalidIdentifierError(field, message);
}

function checkString(field: string, value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, `${field} must be a non-empty string (${what}).`);
  if (value.length > 2048) fail(field, `${field} is too long.`);
  if (value !== value.trim()) fail(field, `${field} must not have leading or trailing spaces.`);
  return value;
}

function checkPartition(field: string, partition: string, allowed: readonly string[]): Partition {
  if (!(PARTITIONS as readonly string[]).includes(partition))
    fail(field, `${field} names partition "${partition}"; expected one of ${PARTITIONS.join(', ')}.`);
  if (!allowed.includes(partition))
    fail(
      field,
      `${field} is in partition "${partition}", which this Keyhold deployment does not serve (allowed: ${allowed.join(', ')}).`,
    );
  return partition as Partition;
}

export function parseRegion(field: string, region: string, partition: Partition): string {
  if (!REGION_RE.test(region))
    fail(field, `${field} has region "${region}", which is not an AWS region name (e.g. eu-west-1).`);
  const cn = region.startsWith('cn-');
  const gov = region.startsWith('us-gov-');
  if (partition === 'aws-cn' && !cn) fail(field, `${field}: region ${region} is not in the aws-cn partition.`);
  if (partition === 'aws-us-gov' && !gov) fail(field, `${field}: region ${region} is not in the aws-us-gov partition.`);
  if (partition === 'aws' && (cn || gov))
    fail(field, `${field}: region ${region} belongs to another partition than aws.`);
  return region;
}

export function parseAccountId(field: string, account: string): string {
  if (!ACCOUNT_RE.test(account))
    fail(field, `${field} has account "${account}"; an AWS account id is exactly 12 digits.`);
  return account;
}

export function parseKeyId(field: string, keyId: string): string {
  if (!KEY_ID_RE.test(keyId))
    fail(
      field,
      `${field} has key id "${keyId}"; expected a lower-case UUID (1234abcd-12ab-34cd-56ef-1234567890ab) or a multi-Region key id (mrk-…32 hex).`,
    );
  return keyId;
}

export function parseAliasName(field: string, alias: string): string {
  if (!ALIAS_RE.test(alias))
    fail(
      field,
      `${field} has alias "${alias}"; an alias is "alias/" followed by 1-250 letters, digits, "/", "_" or "-".`,
    );
  if (alias.startsWith('alias/aws/'))
    fail(field, `${field} names an AWS managed key alias (alias/aws/…); use a customer managed key.`);
  return alias;
}

/** A KMS key ARN or alias ARN (`arn:<partition>:kms:<region>:<account>:key/<id>` | `…:alias/<name>`). */
export function parseKmsArn(value: unknown, allowedPartitions: readonly string[], field = 'keyArn'): ParsedKmsArn {
  const arn = checkString(field, value, 'a KMS key ARN or alias ARN');
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn')
    fail(
      field,
      `${field} must be an ARN of the form arn:aws:kms:<region>:<account>:key/<key-id> or …:alias/<name>; key ids, alias names and URLs are not accepted.`,
    );
  const [, partitionRaw, service, regionRaw, accountRaw, resource] = parts;
  const partition = checkPartition(field, partitionRaw, allowedPartitions);
  if (service !== 'kms') fail(field, `${field} is an ARN for service "${service}", not kms.`);
  const region = parseRegion(field, regionRaw, partition);
  const accountId = parseAccountId(field, accountRaw);
  if (resource.startsWith('key/')) {
    return { arn, partition, region, accountId, kind: 'key', keyId: parseKeyId(field, resource.slice(4)) };
  }
  if (resource.startsWith('alias/')) {
    return { arn, partition, region, accountId, kind: 'alias', aliasName: parseAliasName(field, resource) };
  }
  return fail(
    field,
    `${field} must name a key (key/<key-id>) or an alias (alias/<name>), not "${resource.split('/')[0]}".`,
  );
}

/** An IAM role ARN: `arn:<partition>:iam::<account>:role[/path/]<name>`. */
export function parseRoleArn(value: unknown, allowedPartitions: readonly string[], field = 'roleArn'): ParsedRoleArn {
  const arn = checkString(field, value, 'an IAM role ARN');
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn')
    fail(field, `${field} must be an ARN of the form arn:aws:iam::<account>:role/<name>.`);
  const [, partitionRaw, service, region, accountRaw, resource] = parts;
  const partition = checkPartition(field, partitionRaw, allowedPartitions);
  if (service !== 'iam') fail(field, `${field} is an ARN for service "${service}", not iam.`);
  if (region !== '')
    fail(field, `${field} must not name a region: IAM is global (arn:aws:iam::<account>:role/<name>).`);
  const accountId = parseAccountId(field, accountRaw);
  if (!resource.startsWith('role/'))
    fail(field, `${field} must name a role (role/<name>), not "${resource.split('/')[0]}".`);
  const rest = resource.slice(5);
  const slash = rest.lastIndexOf('/');
  const name = rest.slice(slash + 1);
  const path = slash < 0 ? '/' : `/${rest.slice(0, slash + 1)}`;
  if (!ROLE_NAME_RE.test(name))
    fail(field, `${field} has role name "${name}"; a role name is 1-64 letters, digits or + = , . @ _ -.`);
  if (path.length > 512 || !PATH_RE.test(path) || path.includes('//'))
    fail(field, `${field} has path "${path}"; a path is "/" or "/segment/…/" of printable characters without spaces.`);
  return { arn, partition, accountId, path, name };
}

/** Keyhold's own principal (user, role or account root) as configured by the operator. */
export function parseVendorPrincipalArn(value: string, allowedPartitions: readonly string[]): string {
  const m =
    /^arn:([a-z-]+):(iam|sts)::(\d{12}):(root|user\/[\u0021-\u007e]+|role\/[\u0021-\u007e]+|assumed-role\/[\u0021-\u007e]+)$/.exec(
      value,
    );
  if (!m) throw new Error('expected arn:<partition>:iam::<12-digit account>:(root|user/<name>|role/<name>)');
  if (!allowedPartitions.includes(m[1])) throw new Error(`partition ${m[1]} is not among the allowed partitions`);
  return value;
}

/** Keyhold's ExternalId: generated server-side (≥ 128 bits); checked here so a wrong caller fails loudly. */
export function parseExternalId(value: string): string {
  if (!EXTERNAL_ID_RE.test(value) || value.length < 22)
    fail(
      'externalId',
      'externalId must be a Keyhold-generated value of at least 22 characters from [A-Za-z0-9+=,.@:/_-].',
    );
  return value;
}

/**
 * Tenant input → AwsKeyConfig. An alias ARN is kept as both `keyArn` (until validation pins the key ARN it
 * resolves to) and `aliasArn` (display). Key and role must be in the same partition.
 */
export function parseAwsKeyConfigInput(
  input: { keyArn: unknown; roleArn: unknown },
  externalId: string,
  settings: { allowedPartitions: readonly string[] },
): AwsKeyConfig {
  if (!input || typeof input !== 'object') fail('keyArn', 'keyArn and roleArn are required.');
  const key = parseKmsArn(input.keyArn, settings.allowedPartitions, 'keyArn');
  const role = parseRoleArn(input.roleArn, settings.allowedPartitions, 'roleArn');
  if (key.partition !== role.partition)
    fail(
      'roleArn',
      `roleArn is in partition ${role.partition} but keyArn is in ${key.partition}; both must be in the same partition.`,
    );
  return {
    provider: 'aws',
    keyArn: key.arn,
    ...(key.kind === 'alias' ? { aliasArn: key.arn } : {}),
    roleArn: role.arn,
    externalId: parseExternalId(externalId),
  };
}
