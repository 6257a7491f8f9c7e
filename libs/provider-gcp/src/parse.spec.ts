import { InvalidIdentifierError } from '@app/provider-port';
import { parseGcpKeyConfigInput, parseGcpKeyName } from './parse';
import { serviceAccountForTenant } from './settings';

const SA = serviceAccountForTenant({ vendorProject: 'keyhold-vendor' }, 'tenant-1');
const KEY = 'projects/customer-proj/locations/europe-west1/keyRings/ring_1/cryptoKeys/kek-A';

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidIdentifierError) return err.field;
    throw err;
  }
  return 'accepted';
}

describe('parseGcpKeyName', () => {
  it('splits an exact CryptoKey name', () => {
    expect(parseGcpKeyName(KEY)).toEqual({
      project: 'customer-proj',
      location: 'europe-west1',
      keyRing: 'ring_1',
      cryptoKey: 'kek-A',
      keyRingName: 'projects/customer-proj/locations/europe-west1/keyRings/ring_1',
    });
    expect(parseGcpKeyName('projects/abcdef/locations/global/keyRings/r/cryptoKeys/k').location).toBe('global');
  });

  it.each([
    ['empty', ''],
    ['not a string', 42],
    ['version suffix', `${KEY}/cryptoKeyVersions/1`],
    ['version collection', `${KEY}/cryptoKeyVersions`],
    ['extra segment', `${KEY}/extra`],
    ['leading slash', `/${KEY}`],
    ['trailing slash', `${KEY}/`],
    ['project too short', 'projects/abcde/locations/l/keyRings/r/cryptoKeys/k'],
    ['project too long', `projects/${'a'.repeat(31)}/locations/l/keyRings/r/cryptoKeys/k`],
    ['project starts with a digit', 'projects/1customer/locations/l/keyRings/r/cryptoKeys/k'],
    ['project ends with a hyphen', 'projects/customer-/locations/l/keyRings/r/cryptoKeys/k'],
    ['upper-case project', 'projects/Customer-proj/locations/l/keyRings/r/cryptoKeys/k'],
    ['key name too long', `projects/customer-proj/locations/l/keyRings/r/cryptoKeys/${'k'.repeat(64)}`],
    ['dot in ring', 'projects/customer-proj/locations/l/keyRings/r.1/cryptoKeys/k'],
    ['path traversal', 'projects/customer-proj/locations/l/keyRings/../cryptoKeys/k'],
    ['wrong collection', 'projects/customer-proj/locations/l/keyrings/r/cryptoKeys/k'],
    ['full URL', `https://cloudkms.googleapis.com/v1/${KEY}`],
    ['newline', `${KEY}\n`],
  ])('rejects %s', (_label, raw) => {
    expect(fieldOf(() => parseGcpKeyName(raw))).toBe('gcp.keyName');
  });

  it('says what is wrong with a version name', () => {
    expect(() => parseGcpKeyName(`${KEY}/cryptoKeyVersions/3`)).toThrow(/CryptoKey, not a CryptoKeyVersion/);
  });
});

describe('parseGcpKeyConfigInput', () => {
  it("accepts the tenant's own service account", () => {
    expect(parseGcpKeyConfigInput({ keyName: KEY, serviceAccount: SA }, SA)).toEqual({
      provider: 'gcp',
      keyName: KEY,
      serviceAccount: SA,
    });
  });

  it("rejects another tenant's service account (confused deputy), naming the expected one", () => {
    const other = serviceAccountForTenant({ vendorProject: 'keyhold-vendor' }, 'tenant-2');
    expect(fieldOf(() => parseGcpKeyConfigInput({ keyName: KEY, serviceAccount: other }, SA))).toBe(
      'gcp.serviceAccount',
    );
    expect(() => parseGcpKeyConfigInput({ keyName: KEY, serviceAccount: other }, SA)).toThrow(SA);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not a string', { email: SA }],
    ['different case', SA.toUpperCase()],
    ['with whitespace', ` ${SA}`],
    ['a customer service account', 'kms-user@customer-proj.iam.gserviceaccount.com'],
  ])('rejects a service account that is %s', (_label, sa) => {
    expect(fieldOf(() => parseGcpKeyConfigInput({ keyName: KEY, serviceAccount: sa }, SA))).toBe('gcp.serviceAccount');
  });

  it('checks the key name before the service account', () => {
    expect(fieldOf(() => parseGcpKeyConfigInput({ keyName: 'nope', serviceAccount: 'nope' }, SA))).toBe('gcp.keyName');
  });
});

describe('serviceAccountForTenant', () => {
  it('is deterministic, per tenant, within the 30-character account id limit', () => {
    const a = serviceAccountForTenant({ vendorProject: 'keyhold-vendor' }, 'tenant-1');
    expect(a).toBe(SA);
    expect(a).toMatch(/^keyhold-t-[0-9a-f]{20}@keyhold-vendor\.iam\.gserviceaccount\.com$/);
    expect(a.split('@')[0].length).toBeLessThanOrEqual(30);
    expect(serviceAccountForTenant({ vendorProject: 'keyhold-vendor' }, 'tenant-2')).not.toBe(a);
    expect(() => serviceAccountForTenant({ vendorProject: 'keyhold-vendor' }, '')).toThrow(/tenantId/);
  });
});
