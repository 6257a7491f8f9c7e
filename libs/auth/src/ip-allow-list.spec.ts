import { canonicalCidr, IpAllowList } from './ip-allow-list';

describe('canonicalCidr', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    [' 192.168.1.7/32 ', '192.168.1.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['::1/128', '::1/128'],
    ['::ffff:10.0.0.0/104', '::ffff:10.0.0.0/104'],
  ])('accepts %s', (text, canonical) => expect(canonicalCidr(text)).toBe(canonical));

  it.each([
    '10.0.0.1/8',
    '10.0.0.0/33',
    '10.0.0.0',
    '2001:db8::1/32',
    '::/129',
    'not-an-ip/8',
    '10.0.0.0/-1',
    '10.0.0.0/08x',
    '256.0.0.0/8',
    '',
  ])('refuses %s', (text) => expect(canonicalCidr(text)).toBeUndefined());
});

describe('IpAllowList', () => {
  it('an empty list allows anything, even an unknown address', () => {
    const l = new IpAllowList([]);
    expect(l.restricted).toBe(false);
    expect(l.allows(undefined)).toBe(true);
  });

  it('checks IPv4, IPv4-mapped IPv6 and IPv6 addresses against the list', () => {
    const l = new IpAllowList(['10.0.0.0/8', '2001:db8::/32']);
    expect(l.allows('10.1.2.3')).toBe(true);
    expect(l.allows('::ffff:10.1.2.3')).toBe(true);
    expect(l.allows('11.0.0.1')).toBe(false);
    expect(l.allows('::ffff:11.0.0.1')).toBe(false);
    expect(l.allows('2001:db8:1::5')).toBe(true);
    expect(l.allows('2001:db9::5')).toBe(false);
    expect(l.allows('127.0.0.1')).toBe(false);
    expect(l.allows(undefined)).toBe(false);
    expect(l.allows('garbage')).toBe(false);
  });
});
