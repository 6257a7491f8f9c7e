import { attachReplica, decodeForms, encodeForms, keepForms, sidesToKeep } from './replica';
import type { AwsKeyConfig, GcpKeyConfig } from './port';

const aws = (region: string, id = 'mrk-1234abcd'): AwsKeyConfig => ({
  provider: 'aws',
  keyArn: `arn:aws:kms:${region}:000000000000:key/${id}`,
  roleArn: 'arn:aws:iam::000000000000:role/k',
  externalId: 'x',
});
const gcp = (location: string): GcpKeyConfig => ({
  provider: 'gcp',
  keyName: `projects/p/locations/${location}/keyRings/r/cryptoKeys/k`,
  serviceAccount: 'sa@v.iam.gserviceaccount.com',
});

describe('replica envelope', () => {
  it('round-trips both forms with their key versions, and one form alone', () => {
    const primary = { ciphertext: Buffer.from('primary-bytes'), keyVersion: 'v1' };
    const replica = { ciphertext: Buffer.from('replica'), keyVersion: null };
    expect(decodeForms(encodeForms({ primary, replica }))).toEqual({ primary, replica });
    expect(decodeForms(encodeForms({ replica }))).toEqual({ replica });
    expect(decodeForms(encodeForms({}))).toEqual({});
  });

  it('a value that is not an envelope is the primary form; a truncated envelope is invalid_ciphertext', () => {
    expect(decodeForms(Buffer.from('plain'), 'v')).toEqual({
      primary: { ciphertext: Buffer.from('plain'), keyVersion: 'v' },
    });
    const whole = encodeForms({ primary: { ciphertext: Buffer.alloc(40, 1), keyVersion: 'v1' } });
    expect(() => decodeForms(whole.subarray(0, 20))).toThrow(
      expect.objectContaining({ errorClass: 'invalid_ciphertext' }),
    );
  });

  it('keepForms removes exactly the forms not kept', () => {
    const cfg = { ...gcp('europe-west1'), replica: { keyName: gcp('us-central1').keyName } };
    const stored = encodeForms({
      primary: { ciphertext: Buffer.from('p'), keyVersion: null },
      replica: { ciphertext: Buffer.from('r'), keyVersion: null },
    });
    expect(Object.keys(decodeForms(keepForms(cfg, stored, ['replica'])))).toEqual(['replica']);
    expect(decodeForms(keepForms(cfg, stored, []))).toEqual({});
  });
});

describe('what a shred keeps', () => {
  it('different keys (GCP, Azure): the forms of the revoked keys only', () => {
    const cfg = { ...gcp('europe-west1'), replica: { keyName: gcp('us-central1').keyName } };
    expect(sidesToKeep(cfg, ['replica'])).toEqual(['replica']);
    expect(sidesToKeep(cfg, ['primary'])).toEqual(['primary']);
    expect(sidesToKeep(cfg, [])).toEqual([]);
  });

  it('shared material (AWS multi-Region): nothing unless both regions are revoked', () => {
    const cfg = { ...aws('us-east-1'), replica: { keyArn: aws('eu-west-1').keyArn } };
    expect(sidesToKeep(cfg, ['replica'])).toEqual([]);
    expect(sidesToKeep(cfg, ['primary'])).toEqual([]);
    expect(sidesToKeep(cfg, ['primary', 'replica'])).toEqual(['primary', 'replica']);
  });
});

describe('attachReplica', () => {
  it('AWS: the same mrk- key in another region of the same account', () => {
    expect(attachReplica(aws('us-east-1'), aws('eu-west-1'))).toMatchObject({
      replica: { keyArn: aws('eu-west-1').keyArn },
    });
    expect(() => attachReplica(aws('us-east-1'), aws('us-east-1'))).toThrow(/another region/);
    expect(() => attachReplica(aws('us-east-1'), aws('eu-west-1', 'mrk-other'))).toThrow(/same multi-Region key/);
    expect(() => attachReplica(aws('us-east-1', '1234abcd'), aws('eu-west-1', '1234abcd'))).toThrow(
      /not a multi-Region key/,
    );
    expect(() =>
      attachReplica({ ...aws('us-east-1'), aliasArn: 'arn:aws:kms:us-east-1:000000000000:alias/a' }, aws('eu-west-1')),
    ).toThrow(/not aliases/);
  });

  it('GCP: another location', () => {
    expect(attachReplica(gcp('europe-west1'), gcp('us-central1'))).toMatchObject({
      replica: { keyName: gcp('us-central1').keyName },
    });
    expect(() => attachReplica(gcp('europe-west1'), gcp('europe-west1'))).toThrow(/another location/);
  });

  it('Azure: another vault of the same Entra tenant', () => {
    const az = (vault: string, tenantId = 't1') => ({
      provider: 'azure' as const,
      keyId: `https://${vault}.vault.azure.net/keys/k`,
      tenantId,
      externalId: 'x',
    });
    expect(attachReplica(az('a'), az('b'))).toMatchObject({ replica: { keyId: az('b').keyId } });
    expect(() => attachReplica(az('a'), az('a'))).toThrow(/paired/);
    expect(() => attachReplica(az('a'), az('b', 't2'))).toThrow(/same Entra tenant/);
  });
});
