import { InvalidIdentifierError } from '@app/provider-port';
import { parseAwsKeyConfigInput, parseKmsArn, parseRoleArn } from './identifiers';

const ALL = ['aws', 'aws-cn', 'aws-us-gov'];
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ROLE = 'arn:aws:iam::123456789012:role/keyhold-access';
const EXT = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdl';

function reason(fn: () => unknown): { field: string; message: string } | null {
  try {
    fn();
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidIdentifierError);
    return { field: (err as InvalidIdentifierError).field, message: (err as Error).message };
  }
}

describe('parseKmsArn', () => {
  it.each([
    [KEY, 'key'],
    ['arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab', 'key'],
    ['arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'key'],
    ['arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'key'],
    ['arn:aws:kms:eu-west-1:123456789012:alias/keyhold', 'alias'],
    ['arn:aws:kms:eu-west-1:123456789012:alias/team/keyhold_prod-1', 'alias'],
  ])('accepts %s', (arn, kind) => {
    expect(parseKmsArn(arn, ALL)).toMatchObject({ arn, kind });
  });

  it.each([
    [undefined, 'non-empty string'],
    [42, 'non-empty string'],
    ['', 'non-empty string'],
    [` ${KEY}`, 'leading or trailing spaces'],
    ['1234abcd-12ab-34cd-56ef-1234567890ab', 'must be an ARN'],
    ['alias/keyhold', 'must be an ARN'],
    ['https://kms.eu-west-1.amazonaws.com/', 'must be an ARN'],
    ['arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab:extra', 'must be an ARN'],
    ['arn:aws-iso:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'partition "aws-iso"'],
    ['arn:aws:s3:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'service "s3"'],
    ['arn:aws:kms:mars-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'not an AWS region'],
    ['arn:aws:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'another partition'],
    ['arn:aws-cn:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'not in the aws-cn partition'],
    ['arn:aws:kms:eu-west-1:12345678901:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'exactly 12 digits'],
    ['arn:aws:kms:eu-west-1:12345678901a:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'exactly 12 digits'],
    ['arn:aws:kms:eu-west-1:123456789012:key/1234ABCD-12ab-34cd-56ef-1234567890ab', 'lower-case UUID'],
    ['arn:aws:kms:eu-west-1:123456789012:key/not-a-key', 'lower-case UUID'],
    ['arn:aws:kms:eu-west-1:123456789012:key/mrk-123', 'lower-case UUID'],
    ['arn:aws:kms:eu-west-1:123456789012:alias/', 'an alias is'],
    ['arn:aws:kms:eu-west-1:123456789012:alias/has space', 'an alias is'],
    ['arn:aws:kms:eu-west-1:123456789012:alias/aws/ebs', 'AWS managed key'],
    ['arn:aws:kms:eu-west-1:123456789012:grant/abc', 'must name a key'],
  ])('rejects %p (%s)', (value, words) => {
    const r = reason(() => parseKmsArn(value, ALL));
    expect(r).not.toBeNull();
    expect(r!.field).toBe('keyArn');
    expect(r!.message).toContain(words);
  });

  it('rejects partitions this deployment does not serve', () => {
    const r = reason(() =>
      parseKmsArn('arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', ['aws']),
    );
    expect(r!.message).toContain('does not serve');
  });
});

describe('parseRoleArn', () => {
  it.each([
    [ROLE, '/', 'keyhold-access'],
    [
      'arn:aws:iam::123456789012:role/service/keyhold/Keyhold+Access=1,x.y@z',
      '/service/keyhold/',
      'Keyhold+Access=1,x.y@z',
    ],
  ])('accepts %s', (arn, path, name) => {
    expect(parseRoleArn(arn, ALL)).toMatchObject({ arn, path, name, accountId: '123456789012' });
  });

  it.each([
    ['arn:aws:iam:us-east-1:123456789012:role/x', 'must not name a region'],
    ['arn:aws:iam::123456789012:user/x', 'must name a role'],
    ['arn:aws:sts::123456789012:assumed-role/x/y', 'not iam'],
    ['arn:aws:iam::123456789012:role/', 'role name'],
    ['arn:aws:iam::123456789012:role/bad name', 'role name'],
    [`arn:aws:iam::123456789012:role/${'a'.repeat(65)}`, 'role name'],
    ['arn:aws:iam::123456789012:role/a//b', 'has path'],
    ['arn:aws:iam::123456789012:role/pa th/b', 'has path'],
    ['arn:aws:iam::1234:role/x', 'exactly 12 digits'],
    ['arn:aws:iam::123456789012:role/x:y', 'must be an ARN'],
  ])('rejects %s (%s)', (value, words) => {
    const r = reason(() => parseRoleArn(value, ALL));
    expect(r!.field).toBe('roleArn');
    expect(r!.message).toContain(words);
  });
});

describe('parseAwsKeyConfigInput', () => {
  it('builds a key configuration; an alias is kept for display until pinned', () => {
    expect(parseAwsKeyConfigInput({ keyArn: KEY, roleArn: ROLE }, EXT, { allowedPartitions: ['aws'] })).toEqual({
      provider: 'aws',
      keyArn: KEY,
      roleArn: ROLE,
      externalId: EXT,
    });
    const alias = 'arn:aws:kms:eu-west-1:123456789012:alias/keyhold';
    expect(parseAwsKeyConfigInput({ keyArn: alias, roleArn: ROLE }, EXT, { allowedPartitions: ['aws'] })).toMatchObject(
      { keyArn: alias, aliasArn: alias },
    );
  });

  it('refuses a key and a role in different partitions, and a weak ExternalId', () => {
    const cnRole = 'arn:aws-cn:iam::123456789012:role/x';
    expect(
      reason(() => parseAwsKeyConfigInput({ keyArn: KEY, roleArn: cnRole }, EXT, { allowedPartitions: ALL })),
    ).toMatchObject({ field: 'roleArn' });
    expect(
      reason(() => parseAwsKeyConfigInput({ keyArn: KEY, roleArn: ROLE }, 'short', { allowedPartitions: ALL })),
    ).toMatchObject({ field: 'externalId' });
    expect(
      reason(() =>
        parseAwsKeyConfigInput({ keyArn: KEY, roleArn: ROLE }, 'has spaces in it, which STS refuses', {
          allowedPartitions: ALL,
        }),
      ),
    ).toMatchObject({ field: 'externalId' });
  });
});
