import type { AwsKeyConfig, AzureKeyConfig, KeyDescription } from './port';
import { anyCloud, isConfigOf, ProviderBinding } from './module';

const azure: AzureKeyConfig = {
  provider: 'azure',
  keyId: 'https://v.vault.azure.net/keys/k',
  tenantId: 't',
  externalId: 'e',
};
const aws: AwsKeyConfig = {
  provider: 'aws',
  keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k',
  roleArn: 'arn:aws:iam::111122223333:role/r',
  externalId: 'e',
};
const description: KeyDescription = {
  keyId: azure.keyId,
  state: 'enabled',
  usage: 'wrapKey',
  usageOk: true,
  spec: 'RSA 2048',
  currentVersion: null,
};

function fakeAzure(calls: string[]): ProviderBinding<AzureKeyConfig> {
  return {
    kind: 'azure',
    provider: {
      kind: 'azure',
      describe: async (c) => (calls.push(`describe ${c.keyId}`), description),
      wrap: async () => ({ ciphertext: Buffer.alloc(1), keyVersion: null }),
      unwrap: async () => Buffer.alloc(32),
      explain: () => 'words',
      close: async () => undefined,
    },
    parse: () => azure,
    identity: () => ({}),
    hints: (c) => ({ keyId: c.keyId }),
    bindTenant: (c, t) => ({ ...c, externalId: t.externalId }),
  };
}

describe('anyCloud', () => {
  it('passes a configuration of its own cloud through, and keeps optional members absent', async () => {
    const calls: string[] = [];
    const b = anyCloud('azure', fakeAzure(calls));
    await b.provider.describe(azure, { tenantId: 't' });
    expect(calls).toEqual([`describe ${azure.keyId}`]);
    expect(b.bindTenant(azure, { id: 't', externalId: 'mine' })).toMatchObject({ externalId: 'mine' });
    expect(b.provider.rewrap).toBeUndefined();
    expect(b.provider.pin).toBeUndefined();
  });

  it("refuses another cloud's configuration before calling the binding", async () => {
    const calls: string[] = [];
    const b = anyCloud('azure', fakeAzure(calls));
    await expect(b.provider.describe(aws, { tenantId: 't' })).rejects.toThrow(
      /aws key configuration was handed to the azure binding/,
    );
    expect(() => b.hints(aws, { id: 't', externalId: 'e' })).toThrow(/handed to the azure binding/);
    expect(calls).toEqual([]);
  });

  it('isConfigOf narrows by the discriminant', () => {
    expect(isConfigOf('azure', azure)).toBe(true);
    expect(isConfigOf('azure', aws)).toBe(false);
  });
});
