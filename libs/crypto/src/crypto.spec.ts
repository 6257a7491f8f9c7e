import { createHmac } from 'node:crypto';
import {
  DekUnwrapError,
  generateDek,
  generateKek,
  kcv,
  kcvMatches,
  unwrapDek,
  wrapDek,
  WRAPPED_DEK_BYTES,
} from './index';

const aad = { tenantId: 't1', workspaceId: 'w1', segmentId: 's1', kekVersion: 1 };

describe('DEK wrapping (AES-256-GCM under the KEK)', () => {
  it('round-trips and produces 60 bytes with a fresh nonce each time', () => {
    const kek = generateKek();
    const dek = generateDek();
    const a = wrapDek(kek, dek, aad);
    const b = wrapDek(kek, dek, aad);
    expect(a.length).toBe(WRAPPED_DEK_BYTES);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(unwrapDek(kek, a, aad).equals(dek)).toBe(true);
  });

  it.each([
    ['segment', { ...aad, segmentId: 's2' }],
    ['workspace', { ...aad, workspaceId: 'w2' }],
    ['tenant', { ...aad, tenantId: 't2' }],
    ['KEK version', { ...aad, kekVersion: 2 }],
  ])('refuses a DEK moved to another %s', (_what, other) => {
    const kek = generateKek();
    const wrapped = wrapDek(kek, generateDek(), aad);
    expect(() => unwrapDek(kek, wrapped, other)).toThrow(DekUnwrapError);
  });

  it('refuses a wrong KEK and any flipped bit', () => {
    const kek = generateKek();
    const wrapped = wrapDek(kek, generateDek(), aad);
    expect(() => unwrapDek(generateKek(), wrapped, aad)).toThrow(DekUnwrapError);
    for (const i of [0, 20, 59]) {
      const t = Buffer.from(wrapped);
      t[i] ^= 1;
      expect(() => unwrapDek(kek, t, aad)).toThrow(DekUnwrapError);
    }
  });

  it('rejects keys of the wrong size and non-positive versions', () => {
    expect(() => wrapDek(Buffer.alloc(16), generateDek(), aad)).toThrow('KEK must be 32 bytes');
    expect(() => wrapDek(generateKek(), generateDek(), { ...aad, kekVersion: 0 })).toThrow('kekVersion');
  });
});

describe('key-check value', () => {
  it('matches only its own KEK and is 16 bytes', () => {
    const kek = generateKek();
    const v = kcv(kek);
    expect(v.length).toBe(16);
    expect(kcvMatches(kek, v)).toBe(true);
    expect(kcvMatches(generateKek(), v)).toBe(false);
    expect(kcvMatches(kek, v.subarray(0, 8))).toBe(false);
  });

  it('is HMAC-SHA256(KEK, "keyhold/kcv/v1") truncated (spec vector)', () => {
    const kek = Buffer.alloc(32, 0x01);
    const expected = createHmac('sha256', kek).update('keyhold/kcv/v1').digest().subarray(0, 16);
    expect(kcv(kek).equals(expected)).toBe(true);
  });
});
