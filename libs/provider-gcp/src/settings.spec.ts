import { loadGcpSettings } from './settings';

const base = { KEYHOLD_GCP_VENDOR_PROJECT: 'keyhold-vendor' };

describe('loadGcpSettings', () => {
  it('reads the emulator configuration', () => {
    const s = loadGcpSettings({
      ...base,
      KEYHOLD_GCP_KMS_ENDPOINT: '127.0.0.1:4568',
      KEYHOLD_GCP_IAM_ENDPOINT: 'https://127.0.0.1:4570',
      KEYHOLD_GCP_VENDOR_TOKEN: 'keyhold-vendor-local-token',
      KEYHOLD_GCP_TIMEOUT_MS: '3000',
      KEYHOLD_GCP_MAX_RETRIES: '0',
    });
    expect(s).toEqual({
      vendorProject: 'keyhold-vendor',
      kmsEndpoint: { host: '127.0.0.1', port: 4568 },
      iamCredentialsEndpoint: 'https://127.0.0.1:4570',
      vendorAccessToken: 'keyhold-vendor-local-token',
      requestTimeoutMs: 3000,
      maxRetries: 0,
    });
  });

  it('defaults to the real service with ADC', () => {
    const s = loadGcpSettings(base);
    expect(s.kmsEndpoint).toBeUndefined();
    expect(s.iamCredentialsEndpoint).toBeUndefined();
    expect(s.vendorAccessToken).toBeUndefined();
    expect(s.requestTimeoutMs).toBeGreaterThan(0);
  });

  it.each([
    [{}, /KEYHOLD_GCP_VENDOR_PROJECT is required/],
    [{ KEYHOLD_GCP_VENDOR_PROJECT: 'Bad_Project' }, /KEYHOLD_GCP_VENDOR_PROJECT must be/],
    [{ ...base, KEYHOLD_GCP_KMS_ENDPOINT: '127.0.0.1' }, /KEYHOLD_GCP_KMS_ENDPOINT must be host:port/],
    [{ ...base, KEYHOLD_GCP_KMS_ENDPOINT: 'host:99999' }, /KEYHOLD_GCP_KMS_ENDPOINT/],
    [
      { ...base, KEYHOLD_GCP_IAM_ENDPOINT: 'http://127.0.0.1:4570' },
      /KEYHOLD_GCP_IAM_ENDPOINT must be an https origin/,
    ],
    [{ ...base, KEYHOLD_GCP_IAM_ENDPOINT: 'https://x/v1' }, /KEYHOLD_GCP_IAM_ENDPOINT/],
    [{ ...base, KEYHOLD_GCP_IAM_ENDPOINT: 'not a url' }, /KEYHOLD_GCP_IAM_ENDPOINT must be an https URL/],
    [{ ...base, KEYHOLD_GCP_CA_FILE: '/nonexistent/ca.pem' }, /KEYHOLD_GCP_CA_FILE cannot be read/],
    [{ ...base, KEYHOLD_GCP_CA_PEM: 'not a pem' }, /KEYHOLD_GCP_CA_PEM must hold a PEM certificate/],
    [
      { ...base, KEYHOLD_GCP_CA_PEM: '-----BEGIN CERTIFICATE-----', KEYHOLD_GCP_CA_FILE: '/x' },
      /either KEYHOLD_GCP_CA_FILE or KEYHOLD_GCP_CA_PEM/,
    ],
    [{ ...base, KEYHOLD_GCP_VENDOR_TOKEN: 'has space in it' }, /KEYHOLD_GCP_VENDOR_TOKEN/],
    [{ ...base, KEYHOLD_GCP_TIMEOUT_MS: 'soon' }, /KEYHOLD_GCP_TIMEOUT_MS must be an integer/],
    [{ ...base, KEYHOLD_GCP_MAX_RETRIES: '-1' }, /KEYHOLD_GCP_MAX_RETRIES/],
  ])('names the variable at fault (%#)', (env, message) => {
    expect(() => loadGcpSettings(env as Record<string, string>)).toThrow(message);
  });

  it('never echoes the vendor token in an error', () => {
    const token = 'secret token value';
    expect(() => loadGcpSettings({ ...base, KEYHOLD_GCP_VENDOR_TOKEN: token })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(token) }),
    );
  });
});
