import { loadAwsSettings } from './settings';

const base = { KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN: 'arn:aws:iam::111122223333:user/keyhold-vendor' };

describe('loadAwsSettings', () => {
  it('applies defaults without inventing credentials', () => {
    expect(loadAwsSettings(base)).toEqual({
      region: 'us-east-1',
      kmsEndpoint: undefined,
      stsEndpoint: undefined,
      vendorPrincipalArn: base.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN,
      maxAttempts: 3,
      requestTimeoutMs: 5000,
      allowedPartitions: ['aws'],
    });
  });

  it('reads every variable', () => {
    const s = loadAwsSettings({
      ...base,
      KEYHOLD_AWS_REGION: 'eu-west-1',
      KEYHOLD_AWS_KMS_ENDPOINT: 'http://127.0.0.1:4566/',
      KEYHOLD_AWS_STS_ENDPOINT: 'https://sts.eu-west-1.amazonaws.com',
      KEYHOLD_AWS_ACCESS_KEY_ID: 'AKIAKEYHOLDVENDOR000',
      KEYHOLD_AWS_SECRET_ACCESS_KEY: 'secret',
      KEYHOLD_AWS_MAX_ATTEMPTS: '5',
      KEYHOLD_AWS_REQUEST_TIMEOUT_MS: '1500',
      KEYHOLD_AWS_ALLOWED_PARTITIONS: 'aws, aws-us-gov',
    });
    expect(s).toMatchObject({
      region: 'eu-west-1',
      kmsEndpoint: 'http://127.0.0.1:4566',
      stsEndpoint: 'https://sts.eu-west-1.amazonaws.com',
      vendorCredentials: { accessKeyId: 'AKIAKEYHOLDVENDOR000', secretAccessKey: 'secret' },
      maxAttempts: 5,
      requestTimeoutMs: 1500,
      allowedPartitions: ['aws', 'aws-us-gov'],
    });
  });

  it.each([
    [{}, 'KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN'],
    [{ KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN: 'keyhold' }, 'KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN'],
    [{ ...base, KEYHOLD_AWS_REGION: 'Europe' }, 'KEYHOLD_AWS_REGION'],
    [{ ...base, KEYHOLD_AWS_KMS_ENDPOINT: 'not a url' }, 'KEYHOLD_AWS_KMS_ENDPOINT'],
    [{ ...base, KEYHOLD_AWS_STS_ENDPOINT: 'ftp://sts' }, 'KEYHOLD_AWS_STS_ENDPOINT'],
    [{ ...base, KEYHOLD_AWS_KMS_ENDPOINT: 'https://u:p@kms' }, 'KEYHOLD_AWS_KMS_ENDPOINT'],
    [{ ...base, KEYHOLD_AWS_ACCESS_KEY_ID: 'AKIAKEYHOLDVENDOR000' }, 'KEYHOLD_AWS_SECRET_ACCESS_KEY'],
    [{ ...base, KEYHOLD_AWS_SECRET_ACCESS_KEY: 'x' }, 'KEYHOLD_AWS_ACCESS_KEY_ID'],
    [{ ...base, KEYHOLD_AWS_MAX_ATTEMPTS: '0' }, 'KEYHOLD_AWS_MAX_ATTEMPTS'],
    [{ ...base, KEYHOLD_AWS_MAX_ATTEMPTS: 'three' }, 'KEYHOLD_AWS_MAX_ATTEMPTS'],
    [{ ...base, KEYHOLD_AWS_REQUEST_TIMEOUT_MS: '10' }, 'KEYHOLD_AWS_REQUEST_TIMEOUT_MS'],
    [{ ...base, KEYHOLD_AWS_ALLOWED_PARTITIONS: 'aws,aws-iso' }, 'KEYHOLD_AWS_ALLOWED_PARTITIONS'],
  ])('%p names %s', (env, variable) => {
    expect(() => loadAwsSettings(env as NodeJS.ProcessEnv)).toThrow(variable);
  });

  it('never puts the secret into an error message', () => {
    try {
      loadAwsSettings({
        ...base,
        KEYHOLD_AWS_ACCESS_KEY_ID: 'lower-case-bad',
        KEYHOLD_AWS_SECRET_ACCESS_KEY: 'super-secret-value',
      });
      throw new Error('expected failure');
    } catch (err) {
      expect((err as Error).message).toContain('KEYHOLD_AWS_ACCESS_KEY_ID');
      expect((err as Error).message).not.toContain('super-secret-value');
    }
  });
});
