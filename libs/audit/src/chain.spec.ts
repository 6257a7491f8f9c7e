import { AuditEntry, canonicalJson, entryHash, GENESIS_HASH, verifyChain } from './chain';

function chain(n: number) {
  const out: Array<AuditEntry & { prevHash: string; hash: string }> = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e: AuditEntry = { tenantId: 't', seq, at: new Date(1_700_000_000_000 + seq), actor: 'a', action: 'x', target: 'w', outcome: 'success', details: { n: seq, z: { b: 1, a: 2 } } };
    const hash = entryHash(prev, e);
    out.push({ ...e, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

describe('audit hash chain', () => {
  it('verifies an intact chain and reports its head', () => {
    const c = chain(5);
    expect(verifyChain(c)).toEqual({ ok: true, count: 5, headHash: c[4].hash });
  });

  it('detects a changed field at the seq that changed', () => {
    const c = chain(5);
    c[2] = { ...c[2], outcome: 'failure' };
    expect(verifyChain(c)).toEqual({ ok: false, count: 2, firstBadSeq: 3 });
  });

  it('detects a deleted and a reordered entry', () => {
    const c = chain(5);
    expect(verifyChain([c[0], c[2], c[3]])).toMatchObject({ ok: false, firstBadSeq: 2 });
    expect(verifyChain([c[1], c[0]])).toMatchObject({ ok: false, firstBadSeq: 1 });
  });

  it('detects a rehashed entry (the next link breaks)', () => {
    const c = chain(4);
    const forged = { ...c[1], actor: 'mallory' };
    forged.hash = entryHash(forged.prevHash, forged);
    expect(verifyChain([c[0], forged, c[2], c[3]])).toMatchObject({ ok: false, firstBadSeq: 3 });
  });

  it('canonical JSON ignores key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
  });
});
