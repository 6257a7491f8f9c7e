import { parseChallenge } from './challenge';

describe('parseChallenge', () => {
  it('reads the tenant and resource from a Key Vault bearer challenge', () => {
    const c = parseChallenge(
      'Bearer authorization="https://login.microsoftonline.com/7D3F0C5E-1B2A-4C3D-9E8F-0A1B2C3D4E5F", resource="https://vault.azure.net"',
    );
    expect(c).toEqual({
      tenantId: '7d3f0c5e-1b2a-4c3d-9e8f-0a1b2c3d4e5f',
      authorization: 'https://login.microsoftonline.com/7D3F0C5E-1B2A-4C3D-9E8F-0A1B2C3D4E5F',
      resource: 'https://vault.azure.net',
    });
  });

  it('accepts the authorization_uri / scope spelling', () => {
    const c = parseChallenge(
      'Bearer authorization_uri="https://login.microsoftonline.com/abc/oauth2/authorize", scope="https://managedhsm.azure.net/.default"',
    );
    expect(c.tenantId).toBe('abc');
    expect(c.resource).toBe('https://managedhsm.azure.net/.default');
  });

  it('yields no tenant for a header without a usable authorization URI', () => {
    expect(parseChallenge('Basic realm="x"').tenantId).toBeNull();
    expect(parseChallenge('Bearer authorization="not a url"').tenantId).toBeNull();
  });
});
