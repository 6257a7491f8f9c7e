import { crc32c } from './crc32c';

describe('crc32c (Castagnoli)', () => {
  it('matches the published check value and RFC 3720 test vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('changes when a single bit flips', () => {
    const a = Buffer.from('keyhold');
    const b = Buffer.from(a);
    b[0] ^= 1;
    expect(crc32c(a)).not.toBe(crc32c(b));
  });
});
