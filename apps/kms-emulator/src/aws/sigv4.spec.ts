import { checkSkew, parseAuthorization, verifySignature } from './sigv4';

/** The "get-vanilla" case of AWS's published SigV4 test suite. */
const VANILLA = {
  method: 'GET',
  url: '/',
  headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
  body: Buffer.alloc(0),
};
const AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

describe('SigV4 verification', () => {
  it('accepts the AWS test-suite signature', () => {
    const parsed = parseAuthorization(AUTH);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.auth).toMatchObject({
      accessKeyId: 'AKIDEXAMPLE',
      region: 'us-east-1',
      service: 'service',
      signedHeaders: ['host', 'x-amz-date'],
    });
    expect(verifySignature(VANILLA, parsed.auth, SECRET)).toBeNull();
  });

  it.each([
    ['a wrong secret', { ...VANILLA }, 'not-the-secret'],
    ['a changed header', { ...VANILLA, headers: { ...VANILLA.headers, host: 'other.amazonaws.com' } }, SECRET],
    ['a changed body', { ...VANILLA, body: Buffer.from('x') }, SECRET],
    ['a changed path', { ...VANILLA, url: '/x' }, SECRET],
    ['a changed query', { ...VANILLA, url: '/?a=b' }, SECRET],
  ])('refuses %s', (_what, req, secret) => {
    const parsed = parseAuthorization(AUTH);
    if (!parsed.ok) throw new Error('unparsed');
    expect(verifySignature(req, parsed.auth, secret)).toMatch(/signature/);
  });

  it('refuses malformed headers and scope/date mismatches', () => {
    expect(parseAuthorization(undefined).ok).toBe(false);
    expect(parseAuthorization('Bearer abc').ok).toBe(false);
    expect(parseAuthorization(AUTH.replace('Signature=5f', 'Signature=zz')).ok).toBe(false);
    const parsed = parseAuthorization(AUTH.replace('20150830/', '20150831/'));
    if (!parsed.ok) throw new Error('unparsed');
    expect(verifySignature(VANILLA, parsed.auth, SECRET)).toContain('date');
  });

  it('enforces the 5-minute clock skew of SigV4, in the words AWS uses', () => {
    const t = Date.UTC(2015, 7, 30, 12, 36, 0);
    expect(checkSkew('20150830T123600Z', t + 4 * 60_000)).toBeNull();
    expect(checkSkew('20150830T123600Z', t - 4 * 60_000)).toBeNull();
    expect(checkSkew('20150830T123600Z', t + 6 * 60_000)).toBe(
      'Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T124200Z - 5 min.)',
    );
    expect(checkSkew('20150830T123600Z', t - 6 * 60_000)).toBe(
      'Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z (20150830T123000Z + 5 min.)',
    );
  });
});
