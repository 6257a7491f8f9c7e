import { OwnershipCache, ownershipOf, ownershipTagCommand, OWNERSHIP_TAG } from './ownership';

describe('ownershipOf', () => {
  const ext = 'Ab3-external-id-0123456789';
  it.each([
    [undefined, 'missing'],
    [{}, 'missing'],
    [{ [OWNERSHIP_TAG]: '' }, 'missing'],
    [{ other: ext }, 'missing'],
    [{ [OWNERSHIP_TAG]: ext }, 'proven'],
    [{ [OWNERSHIP_TAG]: ext.toLowerCase() }, 'other_tenant'],
    [{ [OWNERSHIP_TAG]: ` ${ext}` }, 'other_tenant'],
    [{ [OWNERSHIP_TAG]: 'someone-else' }, 'other_tenant'],
    [{ [OWNERSHIP_TAG.toUpperCase()]: ext }, 'missing'],
  ])('%p → %s', (tags, expected) => {
    expect(ownershipOf(tags, ext)).toBe(expected);
  });
});

describe('ownershipTagCommand', () => {
  it('names the vault (or HSM), the key and the tenant value', () => {
    expect(ownershipTagCommand('contoso-kv', 'kek', 'ext-1', false)).toBe(
      `az keyvault key set-attributes --vault-name contoso-kv --name kek \\\n  --tags ${OWNERSHIP_TAG}=ext-1`,
    );
    expect(ownershipTagCommand('contoso-hsm', 'kek', 'ext-1', true)).toContain('--hsm-name contoso-hsm');
  });
});

describe('OwnershipCache', () => {
  it('remembers a success for the TTL only, forgets on demand, and is bounded', () => {
    const c = new OwnershipCache(1000, 2);
    c.remember('a', 0);
    expect(c.fresh('a', 999)).toBe(true);
    expect(c.fresh('a', 1000)).toBe(false);
    c.remember('a', 0);
    c.forget('a');
    expect(c.fresh('a', 1)).toBe(false);
    c.remember('x', 0);
    c.remember('y', 0);
    c.remember('z', 0);
    expect(c.fresh('x', 1)).toBe(false);
    expect(c.fresh('z', 1)).toBe(true);
  });
  it('with a TTL of 0 remembers nothing', () => {
    const c = new OwnershipCache(0);
    c.remember('a', 0);
    expect(c.fresh('a', 0)).toBe(false);
  });
});
