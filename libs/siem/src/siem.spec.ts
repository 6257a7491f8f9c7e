import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDestinationUrl } from './destination-url';
import { encodeBatch } from './encode';
import { toCef, toOcsf } from './formats';
import { SecretBox } from './secret-box';
import { signBody, verifySignature } from './signature';
import { SiemTransport } from './transport';

const T = '11111111-2222-4333-8444-555555555555';
const ev = (
  seq: number,
  action = 'workspace.created',
  extra: Partial<{ details: Record<string, unknown>; outcome: string }> = {},
) => ({
  seq,
  at: new Date('2026-12-04T10:00:00.000Z'),
  actor: 'admin:u1',
  action,
  target: 'workspace:w1',
  outcome: extra.outcome ?? 'success',
  details: extra.details ?? {},
  hash: 'ab'.repeat(32),
});

describe('destination URLs', () => {
  it.each([
    'https://169.254.169.254/latest',
    'https://10.1.2.3/',
    'https://172.16.0.1/',
    'https://100.64.0.1/',
    'https://[fe80::1]/',
    'https://[::ffff:10.0.0.1]/',
    'https://2130706433/',
    'https://127.1/',
    'https://127.0.0.1/',
    'http://localhost:8080/',
    'http://siem.example.com/',
    'https://a:b@siem.example.com/',
    'https://siem.example.com/#x',
    'https://siem.example.com./',
    'https://siem.example.com\\@evil/',
    'https://siem.exa mple.com/',
  ])('refuses %s without the loopback setting', (url) => {
    expect(() => parseDestinationUrl(url, 'webhook', false)).toThrow(/destination URL/);
  });

  it('accepts loopback (and http to it) only with the dev/test setting; never private or metadata addresses', () => {
    expect(parseDestinationUrl('http://127.0.0.1:9000/hook', 'webhook', true)).toBe('http://127.0.0.1:9000/hook');
    expect(parseDestinationUrl('http://localhost:9000/hook', 'jsonl', true)).toBe('http://localhost:9000/hook');
    expect(() => parseDestinationUrl('https://169.254.169.254/', 'webhook', true)).toThrow();
    expect(() => parseDestinationUrl('https://192.168.0.1/', 'webhook', true)).toThrow();
    expect(() => parseDestinationUrl('http://siem.example.com/', 'webhook', true)).toThrow(/https/);
  });

  it('gives a bare Splunk origin the HEC event path', () => {
    expect(parseDestinationUrl('https://splunk.example.com:8088', 'splunk-hec', false)).toBe(
      'https://splunk.example.com:8088/services/collector/event',
    );
    expect(parseDestinationUrl('https://siem.example.com/in?src=kh', 'webhook', false)).toBe(
      'https://siem.example.com/in?src=kh',
    );
  });
});

describe('connect-time address check (the shared guarded lookup)', () => {
  it('refuses a name that resolves to loopback when loopback is not allowed, and reaches it when it is', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const closed = new SiemTransport({ allowLoopback: false });
    const open = new SiemTransport({ allowLoopback: true });
    try {
      // Plain http is refused outright without the setting; the https attempt is refused at lookup, before any socket.
      await expect(closed.post(`https://localhost:${port}/`, {}, Buffer.from('{}'), 2_000)).rejects.toMatchObject({
        code: 'EKEYHOLD_BLOCKED_ADDRESS',
      });
      await expect(closed.post(`https://127.0.0.1:${port}/`, {}, Buffer.from('{}'), 2_000)).rejects.toMatchObject({
        code: 'EKEYHOLD_BLOCKED_ADDRESS',
      });
      await expect(open.post(`http://localhost:${port}/`, {}, Buffer.from('{}'), 2_000)).resolves.toEqual({
        status: 200,
      });
    } finally {
      closed.close();
      open.close();
      server.close();
    }
  });
});

describe('signatures, sealing and mappings', () => {
  it('signs timestamp + body and refuses stale, altered or foreign signatures', () => {
    const now = 1_800_000_000;
    const h = signBody('s3cret', '{"a":1}', now);
    expect(verifySignature('s3cret', h, '{"a":1}', 300, now + 10)).toBe(true);
    expect(verifySignature('s3cret', h, '{"a":2}', 300, now)).toBe(false);
    expect(verifySignature('other', h, '{"a":1}', 300, now)).toBe(false);
    expect(verifySignature('s3cret', h, '{"a":1}', 300, now + 301)).toBe(false);
    expect(verifySignature('s3cret', h.replace('t=1800000000', 't=1800000001'), '{"a":1}', 300, now)).toBe(false);
    const both = signBody(['new', 'old'], '{"a":1}', now);
    expect(both.split(',v1=')).toHaveLength(3);
    expect(verifySignature('new', both, '{"a":1}', 300, now)).toBe(true);
    expect(verifySignature('old', both, '{"a":1}', 300, now)).toBe(true);
    expect(verifySignature('other', both, '{"a":1}', 300, now)).toBe(false);
  });

  it('seals secrets bound to their tenant and destination', () => {
    const box = new SecretBox(Buffer.alloc(32, 7).toString('base64'));
    const sealed = box.seal(T, 'd1', 'token-123');
    expect(sealed).not.toContain('token-123');
    expect(box.open(T, 'd1', sealed)).toBe('token-123');
    expect(() => box.open(T, 'd2', sealed)).toThrow();
    expect(() => new SecretBox(Buffer.alloc(32, 8).toString('base64')).open(T, 'd1', sealed)).toThrow();
  });

  it('escapes CEF header and extension values', () => {
    const cef = toCef(T, { ...ev(7), action: 'a|b', target: 'x=y\nz' });
    expect(cef).toContain('|a\\|b|');
    expect(cef).toContain('cs1=x\\=y\\nz');
    expect(cef).toContain(`externalId=${T}:7 `);
  });

  it('maps identity changes to OCSF Account Change and the rest to API Activity', () => {
    expect(toOcsf(T, { ...ev(1, 'service_principal.secret_rotated'), target: 'service_principal:sp1' })).toMatchObject({
      class_uid: 3001,
      activity_id: 3,
      type_uid: 300103,
      user: { uid: 'sp1' },
    });
    expect(toOcsf(T, ev(2, 'admin_user.deleted'))).toMatchObject({ class_uid: 3001, activity_id: 6 });
    expect(toOcsf(T, ev(3, 'workspace.destroyed'))).toMatchObject({
      class_uid: 6003,
      activity_id: 4,
      resources: [{ uid: 'w1', type: 'workspace' }],
    });
    expect(toOcsf(T, ev(4, 'kms.aws.decrypt', { outcome: 'failure' }))).toMatchObject({
      class_uid: 6003,
      activity_id: 2,
      status_id: 2,
      severity_id: 3,
    });
    expect(toOcsf(T, ev(5, 'workspace.kek_rotated'))).toMatchObject({
      activity_id: 3,
      metadata: { uid: `${T}:5`, sequence: 5 },
    });
    expect(toOcsf(T, ev(6, 'siem_destination.secret_rotated'))).toMatchObject({ class_uid: 6003, activity_id: 3 });
  });

  it('bounds a batch by bytes (at least one event always goes)', () => {
    const big = Array.from({ length: 50 }, (_, i) => ev(i + 1, 'x', { details: { pad: 'p'.repeat(1000) } }));
    const b = encodeBatch('webhook', 'native', T, big, 10_000);
    expect(b.body.length).toBeLessThanOrEqual(10_000);
    expect(b.count).toBeGreaterThan(1);
    expect(b.lastSeq).toBe(b.count);
    expect(JSON.parse(b.body.toString()).events).toHaveLength(b.count);
    expect(encodeBatch('jsonl', 'native', T, big, 1024).count).toBe(1);
  });
});
