import { DomainError, ErrorCode } from './errors';
import { ListCursors } from './list-cursor';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const scope = { tenantId: 't1', list: 'workspaces', sort: 'name:asc', filters: { keyStates: ['active'], search: 'x' } };
const keys = { value: 'billing-eu', id: '6f1c1b8e-0d4f-4a57-9d35-3c1f0f7a9b10' };

function code(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (err) {
    return err instanceof DomainError ? err.code : 'other';
  }
}

describe('ListCursors', () => {
  it('gives back the keyset for the same scope, whatever order the filters were built in', () => {
    const c = new ListCursors([A]);
    const cursor = c.encode(scope, keys);
    expect(c.decode({ ...scope, filters: { search: 'x', keyStates: ['active'] } }, cursor)).toEqual(keys);
    expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toContain('billing'); // sealed, not encoded
  });

  it('refuses another tenant, list, sort or filter, and any altered byte', () => {
    const c = new ListCursors([A]);
    const cursor = c.encode(scope, keys);
    for (const other of [
      { ...scope, tenantId: 't2' },
      { ...scope, list: 'key-configurations' },
      { ...scope, sort: 'name:desc' },
      { ...scope, filters: { keyStates: ['active'] } },
      { ...scope, filters: { ...scope.filters, degraded: true } },
    ])
      expect(code(() => c.decode(other, cursor))).toBe(ErrorCode.InvalidCursor);
    const raw = Buffer.from(cursor, 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const bent = Buffer.from(raw);
      bent[i] ^= 1;
      expect(code(() => c.decode(scope, bent.toString('base64url')))).toBe(ErrorCode.InvalidCursor);
    }
    for (const junk of ['', '!!!', 'bm9wZQ', 'x'.repeat(2000)])
      expect(code(() => c.decode(scope, junk))).toBe(ErrorCode.InvalidCursor);
  });

  it('keeps cursors of the previous signing key readable during a token key rotation, and only while it is configured', () => {
    const old = new ListCursors([A]).encode(scope, keys);
    expect(new ListCursors([B, A]).decode(scope, old)).toEqual(keys);
    expect(code(() => new ListCursors([B]).decode(scope, old))).toBe(ErrorCode.InvalidCursor);
  });
});
