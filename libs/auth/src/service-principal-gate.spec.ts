import type { ServicePrincipalCredentialState } from '@app/persistence';
import { AuthError } from './errors';
import { ServicePrincipalGate } from './service-principal-gate';
import type { AccessClaims } from './tokens';

/** The gate's caching rules with an in-memory principal table standing in for Postgres (its SQL is tested end to end). */
describe('ServicePrincipalGate', () => {
  const claims = (over: Partial<AccessClaims> = {}): AccessClaims => ({
    iss: 'keyhold',
    aud: 'keyhold-internal',
    tid: 't1',
    sub: 'p1',
    role: 'service',
    iat: 0,
    exp: 2e9,
    jti: 'j',
    sid: 's1',
    ...over,
  });
  let table: Map<string, ServicePrincipalCredentialState>;
  let reads: number;
  let release: (() => void) | undefined;
  const source = {
    credentialState: async (id: string) => {
      reads++;
      const snapshot = table.get(id) ?? null;
      if (release === undefined) return snapshot ? { ...snapshot } : null;
      await new Promise<void>((ok) => (release = ok));
      return snapshot ? { ...snapshot } : null;
    },
    generations: async (ids: string[]) =>
      new Map(ids.filter((i) => table.has(i)).map((i) => [i, table.get(i)!.generation])),
  };
  const state = (over: Partial<ServicePrincipalCredentialState> = {}): ServicePrincipalCredentialState => ({
    tenantId: 't1',
    disabled: false,
    generation: 1,
    ipAllowList: [],
    clientCertificateSha256: null,
    secrets: [{ id: 's1', expiresAt: null }],
    ...over,
  });
  const refusal = async (p: true | Promise<void> | (() => unknown)) => {
    try {
      await (typeof p === 'function' ? p() : p);
      return 'admitted';
    } catch (err) {
      return (err as AuthError).code;
    }
  };

  beforeEach(() => {
    table = new Map([['p1', state()]]);
    reads = 0;
    release = undefined;
  });

  it('a principal bound to a client certificate is admitted only over that certificate; an unbound one over any or none', async () => {
    const g = new ServicePrincipalGate(source, { pollIntervalMs: 1000 });
    expect(await refusal(() => g.admitCertificate(claims(), undefined))).toBe('admitted');
    expect(g.admitCertificate(claims(), 'a'.repeat(64))).toBe(true);
    table.set('p1', state({ generation: 2, clientCertificateSha256: 'b'.repeat(64) }));
    g.forget('p1');
    expect(await refusal(() => g.admitCertificate(claims(), undefined))).toBe('CLIENT_CERTIFICATE_MISMATCH');
    expect(await refusal(() => g.admitCertificate(claims(), 'a'.repeat(64)))).toBe('CLIENT_CERTIFICATE_MISMATCH');
    expect(await refusal(() => g.admitCertificate(claims(), 'b'.repeat(63)))).toBe('CLIENT_CERTIFICATE_MISMATCH');
    expect(g.admitCertificate(claims(), 'b'.repeat(64))).toBe(true);
    expect(reads).toBe(2);
  });

  it('reads a principal once, then admits from memory', async () => {
    const g = new ServicePrincipalGate(source, { pollIntervalMs: 1000 });
    await g.admit(claims(), '127.0.0.1');
    expect(g.admit(claims(), '127.0.0.1')).toBe(true);
    expect(reads).toBe(1);
  });

  it('refuses a token without a secret id, of another tenant, of an unknown or expired secret, of a disabled or deleted principal', async () => {
    const g = new ServicePrincipalGate(source, { pollIntervalMs: 1000 });
    await g.admit(claims(), undefined);
    expect(await refusal(() => g.admit(claims({ sid: undefined }), undefined))).toBe('UNAUTHENTICATED');
    expect(await refusal(() => g.admit(claims({ tid: 't2' }), undefined))).toBe('UNAUTHENTICATED');
    expect(await refusal(() => g.admit(claims({ sid: 's2' }), undefined))).toBe('UNAUTHENTICATED');
    table.set('p1', state({ generation: 2, secrets: [{ id: 's1', expiresAt: new Date(Date.now() - 1) }] }));
    g.forget('p1');
    expect(await refusal(() => g.admit(claims(), undefined))).toBe('UNAUTHENTICATED');
    table.set('p1', state({ generation: 3, disabled: true }));
    g.forget('p1');
    expect(await refusal(() => g.admit(claims(), undefined))).toBe('UNAUTHENTICATED');
    table.delete('p1');
    g.forget('p1');
    expect(await refusal(() => g.admit(claims(), undefined))).toBe('UNAUTHENTICATED');
    expect(await refusal(() => g.admit(claims(), undefined))).toBe('UNAUTHENTICATED');
    expect(reads).toBe(4); // the deleted principal is remembered as gone
  });

  it('a secret stops at its end without any message', async () => {
    table.set('p1', state({ secrets: [{ id: 's1', expiresAt: new Date(Date.now() + 150) }] }));
    const g = new ServicePrincipalGate(source, { pollIntervalMs: 60_000 });
    await g.admit(claims(), undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(await refusal(() => g.admit(claims(), undefined))).toBe('UNAUTHENTICATED');
  });

  it('an address outside the allow-list is FORBIDDEN', async () => {
    table.set('p1', state({ ipAllowList: ['10.0.0.0/8'] }));
    const g = new ServicePrincipalGate(source, { pollIntervalMs: 1000 });
    expect(await refusal(() => g.admit(claims(), '10.9.9.9'))).toBe('admitted');
    expect(await refusal(() => g.admit(claims(), '127.0.0.1'))).toBe('FORBIDDEN');
  });

  it('a read in flight across a forget answers its request but is not cached', async () => {
    const g = new ServicePrincipalGate(source, { pollIntervalMs: 1000 });
    release = () => undefined;
    const first = g.admit(claims(), undefined);
    await new Promise((r) => setImmediate(r));
    table.set('p1', state({ generation: 2, disabled: true }));
    g.forget('p1');
    release();
    release = undefined;
    await first;
    expect(await refusal(() => g.admit(claims(), undefined))).toBe('UNAUTHENTICATED');
  });

  it('the poll forgets principals whose generation moved or that are gone, and tells the listeners', async () => {
    const g = new ServicePrincipalGate(source, { pollIntervalMs: 1000 });
    const forgotten: string[] = [];
    g.onForget((id) => forgotten.push(id));
    table.set('p2', state());
    await g.admit(claims(), undefined);
    await g.admit(claims({ sub: 'p2' }), undefined);
    await g.poll();
    expect(forgotten).toEqual([]);
    table.set('p1', state({ generation: 2, disabled: true }));
    table.delete('p2');
    await g.poll();
    expect(forgotten.sort()).toEqual(['p1', 'p2']);
    expect(await refusal(() => g.admit(claims(), undefined))).toBe('UNAUTHENTICATED');
  });
});
